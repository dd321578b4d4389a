"""Benchmark of the firmware runtime under the MicroPython Unix port (prints figures).

    .venv/bin/python tools/bench/firmware.py [--days N] [--heap SIZE]

Compiles firmware/ and pilotproto with mpy-cross, as they are deployed, and runs
tools/bench/fw_runtime.py on them under `micropython -X heapsize=128k`: the ESP32 DevKitC
board file (one vessel and one canister) on the real board HAL (hal/mcu.py, with stand-in
machine and onewire modules from tools/bench/fw_port/), all loops in AUTO, for N simulated
days (default
0.05 = 72 min, about 10 s of wall time; --days 7 is the week-long soak). Prints the heap
(live after a collection: at start, after the imports, once built and warm, and the peak),
the bytes allocated per scheduler pass (GC off, after a warm-up), the wall time per pass,
and whether the run completed without MemoryError. A MemoryError at any stage fails the
benchmark (exit 1) after the figures got so far; --heap runs it in another heap size, only
to see where a heap that does not fit goes. The last line is
    firmware: heap_peak_bytes=N alloc_bytes_per_cycle=N us_per_cycle=N
where a cycle is one scheduler pass and heap_peak_bytes is the live heap peak of the whole
process (interpreter, firmware, board file and the small replay harness), the figure that
must fit the 128 KB heap. The 64-bit Unix port takes about twice a 32-bit board's bytes for
the same objects, and loads the modules' bytecode and names into the heap where a board
can keep them in flash (frozen or ROMFS).

The sensors answer from the test rig's register models (tests/firmware/rig.py) of a
constant plant. They are computed here, on CPython, and handed to the MicroPython process,
so that its heap holds nothing of the rig.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MICROPYTHON = os.environ.get("MICROPYTHON", str(REPO / ".venv" / "bin" / "micropython"))
MPY_CROSS = os.environ.get("MPY_CROSS", str(REPO / ".venv" / "bin" / "mpy-cross"))
SCRIPT = REPO / "tools" / "bench" / "fw_runtime.py"
PORT = REPO / "tools" / "bench" / "fw_port"
BOARD = REPO / "boards" / "esp32_devkitc" / "board.json"
HEAP = "128k"


def plant_answers():
    """(ADS answers as "key:hex,...", DS18B20 scratchpad hex) of the bench plant."""
    for folder in ("firmware", "protocol", "tests/firmware"):
        sys.path.insert(0, str(REPO / folder))
    import rig

    import boardfile
    from drivers import ads1115

    board = boardfile.load(str(BOARD))
    plant = rig.Plant()
    plant.temp_c = 33.0  # below the 35 degC set point: the heater PI works
    plant.ph = 1.85  # above 1.7 + deadband: acid pulses every mixing dead time
    answers = {}
    for entry in board["sensors"].values():
        if "adc" not in entry:
            continue
        addr = board["adc"][entry["adc"]]["addr"]
        model = rig.AdsModel(plant, addr)
        pga = ads1115.PGA[entry["fsr_mv"]]
        for channel in (entry["channel"], entry.get("supply_channel")):
            if channel is not None:
                mux = ads1115.MUX[channel]
                model[1] = bytes((mux << 4 | pga << 1, 0))  # config high byte: MUX, PGA
                answers[addr << 6 | mux << 3 | pga] = model.get(0).hex()
    thermometer = rig.ThermometerBus(plant)
    thermometer.written = bytearray(b"\xbe")  # after a Read Scratchpad command
    pad = bytearray(9)
    thermometer.readinto(pad)
    return ",".join("%d:%s" % kv for kv in sorted(answers.items())), pad.hex()


def compile_firmware(out):
    """mpy-cross every firmware and pilotproto module into out (the deployed form), and the
    machine and onewire stand-ins into out/port."""
    sources = ((REPO / "firmware", out), (REPO / "protocol", out), (PORT, out / "port"))
    for root, dst_root in sources:
        for src in sorted(root.rglob("*.py")):
            rel = src.relative_to(root)
            if rel.parts[0] == "sim":  # the plant models run on the bench, never on a board
                continue
            dst = Path(dst_root, rel).with_suffix(".mpy")
            dst.parent.mkdir(parents=True, exist_ok=True)
            cmd = [MPY_CROSS, "-o", str(dst), "-s", str(rel), str(src)]
            subprocess.run(cmd, check=True, capture_output=True)


def report(f):
    """Print the figures fw_runtime.py got; False unless the run completed."""
    heap = f["heap"]
    print("heap: %d B (-X heapsize=%s)" % (heap, f["heapsize"]))
    print("live heap at start (interpreter and harness): %d B" % f["start"])
    if "board" not in f:
        return False
    print("  + the board file, loaded and checked: %d B" % (f["board"] - f["start"]))
    if "imported" not in f:
        return False
    print(
        "  + firmware modules (bytecode, functions, classes, interned names; in flash on a "
        "board): %d B" % (f["imported"] - f["board"])
    )
    if "boot" not in f:
        return False
    print("  + runtime data built at boot: %d B" % (f["boot"] - f["imported"]))
    print("  = %d B once the runtime is built (the board file still held)" % f["boot"])
    if "built" not in f:
        return False
    print("warmed up, board file freed: %d B live" % f["built"])
    if "alloc_send" not in f:
        return False
    alloc_per_pass = f["alloc"] // f["alloc_passes"]
    print(
        "alloc per pass: %d B (%d passes); per telemetry+heartbeat send: %d B"
        % (alloc_per_pass, f["alloc_passes"], f["alloc_send"])
    )
    if "ok" not in f:
        return False
    print("live heap peak: %d B, %d B free at the peak" % (f["peak"], heap - f["peak"]))
    passes = max(1, f["passes"])
    print("passes/s simulated: %.1f" % (passes * 1000 / max(1, f["sim_ms"])))
    print(
        "simulated %.3f days in %.1f s: %s; state %d, overruns %d, acid %d uL, tx %d B, "
        "watchdog fed %d times"
        % (
            f["sim_ms"] / 86400000,
            f["wall_us"] / 1e6,
            "completed" if f["ok"] else "MemoryError",
            f["state"],
            f["overruns"],
            f["acid_ul"],
            f["tx"],
            f["feeds"],
        )
    )
    print(
        "firmware: heap_peak_bytes=%d alloc_bytes_per_cycle=%d us_per_cycle=%d"
        % (f["peak"], alloc_per_pass, f["wall_us"] // passes)
    )
    return f["ok"] == 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=0.05, help="simulated days (0.05)")
    parser.add_argument(
        "--heap",
        default=HEAP,
        help="-X heapsize (%s, the requirement; a larger one only to see where a heap that "
        "does not fit goes)" % HEAP,
    )
    parser.add_argument(
        "--min-heap",
        action="store_true",
        help="instead: bisect the smallest -X heapsize (8 KB steps) that runs 0.01 days",
    )
    args = parser.parse_args()
    ads, pad = plant_answers()
    with tempfile.TemporaryDirectory(prefix="pe_bench_") as work:
        mpy = Path(work, "mpy")
        compile_firmware(mpy)
        if args.min_heap:
            lo, hi = 16, 64  # in 8 KB steps: 128k fails, 512k is plenty
            while hi - lo > 1:
                mid = (lo + hi) // 2
                ok = run(mpy, "%dk" % (mid * 8), 0.01, ads, pad)[1].returncode == 0
                lo, hi = (lo, mid) if ok else (mid, hi)
            print("firmware: min_heapsize=%dk (0.01 simulated days)" % (hi * 8))
            return
        figures, done = run(mpy, args.heap, args.days, ads, pad)
    if not report(figures) or done.returncode != 0:
        output = (done.stderr + done.stdout).strip().splitlines()
        error = output[-1] if output else "no output"
        sys.exit("FAILED under -X heapsize=%s: %s" % (args.heap, error))


def run(mpy, heap, days, ads, pad):
    """Run fw_runtime.py on the compiled firmware in mpy with a fresh flash folder."""
    env = dict(os.environ, MICROPYPATH=os.pathsep.join((str(mpy), str(mpy / "port"))))
    with tempfile.TemporaryDirectory(prefix="pe_flash_") as flash_dir:
        cmd = [MICROPYTHON, "-X", "heapsize=" + heap, str(SCRIPT)]
        cmd += [str(days), ads, pad, flash_dir]
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    figures = {"heapsize": heap}
    for line in done.stdout.splitlines():
        for item in line.split():
            key, _, value = item.partition("=")
            if value.isdigit():
                figures[key] = int(value)
    return figures, done


if __name__ == "__main__":
    main()
