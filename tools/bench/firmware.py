"""Benchmark of the firmware runtime under the MicroPython Unix port (prints figures).

    .venv/bin/python tools/bench/firmware.py [--days N]

Runs tools/bench/fw_runtime.py: one vessel and one canister on the fake HAL, all loops in
AUTO, for N simulated days (default 0.05 = 72 min, about 15 s of wall time;
--days 7 is the week-long soak). Prints the live heap peak, the bytes allocated per
scheduler pass (GC off, after a warm-up), the wall time per pass, and whether the run
completed without MemoryError. The last line is
    firmware: heap_peak_bytes=N alloc_bytes_per_cycle=N us_per_cycle=N
where a cycle is one scheduler pass and heap_peak_bytes is the runtime's live data (what a
board needs beside its frozen bytecode).

The heap: the run is first tried with -X heapsize=128k. On the 64-bit Unix port the imported
modules' bytecode alone takes about 125 KB (about twice a 32-bit board's, and a board keeps
frozen modules in flash), so that attempt stops with MemoryError while importing. The
benchmark then says so and runs again with 128 KB plus the measured bytecode size: the same
128 KB for data that a board with frozen firmware has.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MICROPYTHON = os.environ.get("MICROPYTHON", str(REPO / ".venv" / "bin" / "micropython"))
SCRIPT = REPO / "tools" / "bench" / "fw_runtime.py"
DATA_HEAP = 128 * 1024
PATH = [".frozen", "firmware", "protocol", "tests/firmware"]


def micropython(heap_bytes, *args):
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(PATH))
    cmd = [MICROPYTHON, "-X", "heapsize=%d" % heap_bytes, str(SCRIPT), *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=0.05, help="simulated days (0.05)")
    days = ["--days", str(parser.parse_args().days)]
    done = micropython(DATA_HEAP, *days)
    if done.returncode != 0 and "MemoryError" in done.stdout + done.stderr:
        probe = micropython(4 * DATA_HEAP, "--probe")
        if probe.returncode != 0:
            sys.exit(probe.stdout + probe.stderr)
        code = int(probe.stdout.split("=")[1])
        print("-X heapsize=128k: MemoryError before the runtime started (bytecode %d B)" % code)
        heap = DATA_HEAP + code
        print("running with -X heapsize=%d: 128 KB for data beside the bytecode" % heap)
        done = micropython(heap, *days)
    if done.returncode != 0:
        sys.exit(done.stdout + done.stderr)
    print(done.stdout, end="")


if __name__ == "__main__":
    main()
