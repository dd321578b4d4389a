"""Build MicroPython's 32-bit Unix port from the source in tools/micropython-src/ (prints paths).

    .venv/bin/python tools/build_micropython.py                  # the plain 32-bit port
    .venv/bin/python tools/build_micropython.py --frozen BOARD   # with its firmware frozen
    .venv/bin/python tools/build_micropython.py --manifest BOARD # print that manifest

(BOARD: the path of a board.json.)

The archive is extracted into build/micropython/ and built there with mpy-cross first, then
the Unix port with MICROPY_FORCE_32BIT=1, so that small ints, pointers and objects have a
32-bit board's sizes. The frozen build puts exactly the firmware modules a board imports
(board_modules(): what a deploy puts on the board's flash) into the binary, as a
board's flash holds them. Builds are cached: the plain one once, a frozen one per hash of
its manifest and the files it freezes, so a changed firmware source gets a fresh build folder
(a frozen build would otherwise keep a stale .mpy newer than its source).

Needs make, gcc and, on Debian, `apt-get install gcc-multilib` for -m32 (about 40 s for the
first build on 2 cores, 20 s for each further frozen one).
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from pilotedge import deploy

REPO = Path(__file__).resolve().parents[1]
VERSION = "1.28.0"
ARCHIVE = REPO / "tools" / "micropython-src" / ("micropython-%s-subset.tar.xz" % VERSION)
OUT = REPO / "build" / "micropython"
SRC = OUT / ("micropython-" + VERSION)
# The subset has no micropython-lib, libffi, mbedtls or berkeley-db (its README.md).
PORT_FLAGS = (
    "VARIANT=standard",
    "MICROPY_FORCE_32BIT=1",
    "MICROPY_PY_FFI=0",
    "MICROPY_PY_BTREE=0",
    "MICROPY_PY_SSL=0",
)
NO_MULTILIB = (
    "the 32-bit MicroPython build needs a 32-bit C library for gcc -m32: "
    "on Debian/Ubuntu run `apt-get install gcc-multilib` (as root)"
)


class BuildError(RuntimeError):
    pass


def board_modules(board_path):
    """[(root, relative path)] of the firmware modules a board imports: what
    `pilotedge deploy` puts on its flash (pilotedge.deploy.board_modules), the bench's
    simulated hardware included for the sim board, whose ROM it is."""
    return deploy.board_modules(board_path, rom=True)


def manifest(modules):
    """The FROZEN_MANIFEST text that freezes [(root, relative path)] under their paths."""
    return "".join(
        "module(%r, base_path=%r)\n" % (rel.as_posix(), str(root)) for root, rel in modules
    )


def source():
    """Extract the archive once into build/micropython; returns the source folder."""
    stamp = SRC / ".extracted"
    digest = _digest([ARCHIVE])
    if stamp.is_file() and stamp.read_text() == digest:
        return SRC
    shutil.rmtree(SRC, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(OUT, filter="data")
    stamp.write_text(digest)
    return SRC


def check_toolchain():
    """Raise BuildError with the install hint unless make and gcc -m32 work."""
    for tool in ("make", "gcc"):
        if shutil.which(tool) is None:
            raise BuildError(
                "%s not found; on Debian/Ubuntu: apt-get install build-essential" % tool
            )
    with tempfile.TemporaryDirectory() as tmp:
        c_file = Path(tmp, "t.c")
        c_file.write_text("#include <stdio.h>\nint main(void) { return 0; }\n")
        done = subprocess.run(
            ["gcc", "-m32", "-o", str(Path(tmp, "t")), str(c_file)], capture_output=True
        )
    if done.returncode != 0:
        raise BuildError(NO_MULTILIB)


def mpy_cross():
    """Build (once) and return the path of this version's mpy-cross."""
    exe = source() / "mpy-cross" / "build" / "mpy-cross"
    if not exe.is_file():
        check_toolchain()
        _make(["-C", "mpy-cross"])
    return exe


def plain():
    """Build (once) and return the 32-bit Unix port without frozen code."""
    return _unix32("build-32", "")


def frozen(name, modules):
    """Build (once per content) and return the 32-bit Unix port with modules [(root, relative
    path)] frozen under their relative paths; name tells its builds apart (an older build of
    the same name is removed: its sources have changed since)."""
    text = manifest(modules)
    key = _digest([ARCHIVE] + [root / rel for root, rel in modules], text)[:16]
    build = "build-32frz-%s-%s" % (name, key)
    port = source() / "ports" / "unix"
    for old in port.glob("build-32frz-*"):
        if old.name.rpartition("-")[0] == build.rpartition("-")[0] and old.name != build:
            shutil.rmtree(old)
    manifest_path = OUT / ("manifest-%s.py" % name)
    manifest_path.write_text(text)
    return _unix32(build, str(manifest_path))


def _unix32(build, frozen_manifest):
    exe = source() / "ports" / "unix" / build / "micropython"
    if exe.is_file():
        return exe
    check_toolchain()
    if frozen_manifest:
        mpy_cross()  # the port compiles frozen modules with it
    mplib = OUT / "mplib"  # stands in for micropython-lib, which the variant would look for
    mplib.mkdir(parents=True, exist_ok=True)
    (mplib / "README.md").touch()
    flags = PORT_FLAGS + ("MPY_LIB_DIR=" + str(mplib), "FROZEN_MANIFEST=" + frozen_manifest)
    _make(["-C", "ports/unix", *flags, "BUILD=" + build])
    return exe


def _make(args):
    cmd = ["make", "-j%d" % (os.cpu_count() or 2), *args]
    done = subprocess.run(cmd, cwd=SRC, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise BuildError("%s failed:\n%s" % (" ".join(cmd), "\n".join(tail)))


def _digest(paths, text=""):
    h = hashlib.sha256(text.encode())
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--frozen", metavar="BOARD", help="board.json whose firmware to freeze")
    group.add_argument("--manifest", metavar="BOARD", help="print BOARD's frozen manifest")
    args = parser.parse_args()
    try:
        if args.manifest:
            print(manifest(board_modules(args.manifest)), end="")
        elif args.frozen:
            print(frozen(Path(args.frozen).parent.name, board_modules(args.frozen)))
        else:
            print(plain())
    except (BuildError, OSError) as e:
        sys.exit("build_micropython: %s" % e)


if __name__ == "__main__":
    main()
