"""Run code under the real MicroPython interpreter (the Unix port in .venv) from a test.

    from mpy import FIRMWARE, PROTOCOL, run_micropython

    out = run_micropython("import boardfile; print('ok')", path=[FIRMWARE])
    assert out == "ok\\n"

    out = run_micropython(Path("tests/firmware/mp_runner.py"), path=[...], args=["test_x"])

``run_micropython(script_or_code, heap="128k", path=(), args=(), timeout_s=60.0, cwd=REPO,
micropython=MICROPYTHON)``

* ``script_or_code``: a ``pathlib.Path`` runs that file; a ``str`` is source code (``-c``).
* ``heap``: the ``-X heapsize=`` value (128k is roughly what an ESP32 or RP2040 leaves free).
* ``path``: directories for ``sys.path`` (set through MICROPYPATH; ``.frozen`` stays first so
  the frozen ``asyncio`` still imports). A script's own folder is added by MicroPython itself.
* returns stdout (str). A non-zero exit or a timeout raises ``MicroPythonError`` (an
  AssertionError, so pytest reports a failure) that carries the command, stdout and stderr.

The interpreter is ``.venv/bin/micropython``, or the one named by the MICROPYTHON variable, or
the ``micropython`` argument (test_board32.py passes the 32-bit build).
"""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware"
PROTOCOL = REPO / "protocol"
MICROPYTHON = Path(os.environ.get("MICROPYTHON", REPO / ".venv" / "bin" / "micropython"))


class MicroPythonError(AssertionError):
    pass


def run_micropython(
    script_or_code,
    heap="128k",
    path=(),
    args=(),
    timeout_s=60.0,
    cwd=REPO,
    micropython=MICROPYTHON,
):
    if not Path(micropython).exists():
        raise MicroPythonError(f"no MicroPython interpreter at {micropython} (run `make test`)")
    if isinstance(script_or_code, Path):
        target = [str(script_or_code)]
    else:
        target = ["-c", script_or_code]
    cmd = [str(micropython), "-X", f"heapsize={heap}", *target, *map(str, args)]
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", *map(str, path)]))
    try:
        done = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as e:
        raise MicroPythonError(f"timed out after {timeout_s} s: {cmd}\n{e.stdout}\n{e.stderr}")
    if done.returncode != 0:
        raise MicroPythonError(
            f"exit status {done.returncode}: {cmd}\n"
            f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
        )
    return done.stdout
