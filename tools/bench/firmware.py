"""Benchmark of the firmware runtime under the MicroPython Unix port (prints figures).

    .venv/bin/python tools/bench/firmware.py [--days N] [--heap SIZE] [--min-heap]
    .venv/bin/python tools/bench/firmware.py --board32

Compiles firmware/ and pilotproto with mpy-cross, as they are deployed, puts them at the
root of a flash folder with the board file (the working directory, so that modules are found
and named as on a board's flash) and runs tools/bench/fw_runtime.py on them under
`micropython -X heapsize=128k`: the ESP32 DevKitC
board file (one vessel and one canister) on the real board HAL (hal/mcu.py, with stand-in
machine and onewire modules from tools/bench/fw_port/), all loops in AUTO, for N simulated
days (default 0.05 = 72 min, about 10 s of wall time; --days 7 is the week-long soak).
Prints the heap (live after a collection: at start, after the imports, once built and warm,
and the peak), the bytes allocated per scheduler pass (GC off, after a warm-up), the wall
time per pass, and whether the run completed: no MemoryError, and the board still in state
RUN at the end (a MemoryError inside a task does not escape the firmware, it puts the board
in FAULT). A run that did not complete fails the benchmark (exit 1) after the figures got
so far; --heap runs it in another heap size, only to see where a heap that does not fit
goes. The last line is
    firmware: heap_peak_bytes=N alloc_bytes_per_cycle=N us_per_cycle=N
where a cycle is one scheduler pass and heap_peak_bytes is the live heap peak of the whole
process (interpreter, firmware, board file and the small replay harness). This is the
.venv's 64-bit Unix port, which takes about twice a 32-bit board's bytes for the same
objects.

--board32 measures the firmware as a 32-bit board holds it, on MicroPython built from the
source in tools/micropython-src/ (tools/build_micropython.py; cached in build/, about 40 s the
first time; needs gcc-multilib). Both builds have this harness and the machine and onewire
stand-ins frozen (a board has those in ROM). Two forms: frozen (the board's modules in the
binary too, as in a board's flash) and .mpy (the firmware loaded from mpy-cross files, whose
bytecode and names then sit in the heap). For each: boot peak,
steady live heap, bytes allocated per pass, and the smallest heap that runs (1 KB bisection
on 0.01 simulated days, confirmed by one simulated hour; runs that complete as above, without
the collector-off allocation measurement, which needs a few KB that a board does not); then
whether each form fits each
board's heap_bytes (boards/*/board.json) with a 25 % margin, and the budget. Last line:
    firmware32: frozen_peak_bytes=N frozen_min_heap_k=N mpy_peak_bytes=N mpy_min_heap_k=N \
alloc_bytes_per_pass=N
(alloc_bytes_per_pass: the larger of the two forms'). Exit 1 when a form does not run.

The sensors answer what the bench's chip emulations (firmware/sim/devices.py) answer for a
constant plant: their register values are read here, on CPython, and handed to the
MicroPython process, so that its heap holds nothing of the emulation.
"""

import argparse
import json
import os
import shutil
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
sys.path.insert(0, str(REPO / "tools"))
import build_micropython  # noqa: E402

# Frozen into both 32-bit builds: the harness and the stand-ins for machine and onewire,
# which a board has in ROM; the frozen form adds the board's modules and the clock.
HARNESS_MODULES = [
    (SCRIPT.parent, Path(SCRIPT.name)),
    (PORT, Path("machine.py")),
    (PORT, Path("onewire.py")),
]
CLOCK_MODULE = (REPO / "firmware", Path("hal", "clock.py"))
MARGIN = 1.25  # a form fits a board when its smallest heap plus 25 % is within heap_bytes
BUDGET_FROZEN_PEAK = 64 * 1024
BUDGET_ALLOC_PER_PASS = 200


def plant_answers():
    """(ADS answers, DS18B20 scratchpads) of the bench plant in its three states (the
    harness moves between them a simulated minute at a time: a plant that answers the
    board's doses, which its no-response checks watch, in the least code): what the bench's
    chip emulations (firmware/sim/devices.py, wired by the test rig's world) answer for
    every input of the board file, read through their registers. ADS: "key:hex,..." of the
    first state, then for each other "/" and the keys whose answer differs from the first;
    pads: the three scratchpads in hex."""
    # pH 1.84 > 1.7 + 0.1: the board doses acid; the minute after a dose the pH is 1.75,
    # then 1.78 (no dose), then 1.84 again. The PI heats around its 35 degC set point, below
    # the duty the heat check watches.
    states = [_answers(1.84, 34.9), _answers(1.75, 35.1), _answers(1.78, 35.0)]
    first = states[0][0]
    ads = [_pairs(first)]
    for answers, _pad in states[1:]:
        ads.append(_pairs({k: v for k, v in answers.items() if first[k] != v}))
    return "/".join(ads), "".join(pad for _answers_, pad in states)


def _pairs(answers):
    return ",".join("%d:%s" % kv for kv in sorted(answers.items()))


def _answers(ph, temp_c):
    for folder in ("firmware", "protocol", "tests/firmware"):
        sys.path.insert(0, str(REPO / folder))
    import rig

    import boardfile
    from drivers import ads1115

    board = boardfile.load(str(BOARD))
    plant = rig.Plant()
    plant.temp_c = temp_c
    plant.shell_c = temp_c  # the stand-in 1-Wire answers each DS18B20 alike: the shell's too
    plant.ph = ph
    world = rig.make_world(board, plant)
    answers = {}
    reg = bytearray(2)
    for entry in board["sensors"].values():
        if "adc" not in entry:
            continue
        addr = board["adc"][entry["adc"]]["addr"]
        adc = world.adcs[entry["adc"]]
        pga = ads1115.PGA[entry["fsr_mv"]]
        for channel in (entry["channel"], entry.get("supply_channel")):
            if channel is not None:
                mux = ads1115.MUX[channel]
                config = 0x8000 | mux << 12 | pga << 9 | 0x0100 | 4 << 5  # 1-shot, 128 SPS
                adc.write(1, bytes((config >> 8, config & 0xFF)))
                world.advance_to(world.now_ms + 10)
                adc.read(0, reg)
                answers[addr << 6 | mux << 3 | pga] = bytes(reg).hex()
    bus = world.onewire["ow0"]
    for command, wait_ms in ((0x44, 800), (0xBE, 0)):  # Convert T, then Read Scratchpad
        bus.reset()
        bus.writebyte(0xCC)  # Skip ROM: the only thermometer
        bus.writebyte(command)
        world.advance_to(world.now_ms + wait_ms)
    pad = bytearray(9)
    bus.readinto(pad)
    return answers, pad.hex()


def compile_firmware(out, mpy_cross=MPY_CROSS):
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
            cmd = [str(mpy_cross), "-o", str(dst), "-s", str(rel), str(src)]
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
    print(
        "alloc per pass: %d B (%d passes); per telemetry+heartbeat send: %d B"
        % (alloc_per_pass(f), f["alloc_passes"], f["alloc_send"])
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
            "completed" if f["ok"] else "NOT COMPLETED (a MemoryError, or the board left RUN)",
            f["state"],
            f["overruns"],
            f["acid_ul"],
            f["tx"],
            f["feeds"],
        )
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
    parser.add_argument(
        "--board32",
        action="store_true",
        help="instead: the 32-bit port built from tools/micropython-src/, frozen and .mpy forms",
    )
    args = parser.parse_args()
    if args.board32:
        return board32()
    ads, pad = plant_answers()
    with tempfile.TemporaryDirectory(prefix="pe_bench_") as work:
        mpy = Path(work, "mpy")
        compile_firmware(mpy)
        form = (MICROPYTHON, (".frozen", "", "port"), (str(SCRIPT),), mpy)
        if args.min_heap:
            print(
                "firmware: min_heapsize=%dk (0.01 simulated days)"
                % min_heap(form, (ads, pad), 8, 128, 512)
            )
            return
        figures, done = run(form, args.heap, args.days, ads, pad, alloc=True)
    if not report(figures) or done.returncode != 0:
        fail(args.heap, done)
    passes = max(1, figures["passes"])
    print(
        "firmware: heap_peak_bytes=%d alloc_bytes_per_cycle=%d us_per_cycle=%d"
        % (figures["peak"], alloc_per_pass(figures), figures["wall_us"] // passes)
    )


def board32():
    board_modules = build_micropython.board_modules(BOARD) + [CLOCK_MODULE]
    try:
        frozen_exe = build_micropython.frozen(
            "bench-" + BOARD.parent.name, board_modules + HARNESS_MODULES
        )
        harness_exe = build_micropython.frozen("bench", HARNESS_MODULES)
        mpy_cross = build_micropython.mpy_cross()
    except build_micropython.BuildError as e:
        sys.exit("firmware.py --board32: %s" % e)
    heaps = {}  # board -> the heap it leaves MicroPython
    for path in sorted(REPO.glob("boards/*/board.json")):
        with open(path) as f:
            heap = json.load(f).get("heap_bytes")
        if heap is not None:
            heaps[path.parent.name] = heap
    answers = plant_answers()
    with tempfile.TemporaryDirectory(prefix="pe_bench32_") as work:
        mpy_dir = Path(work, "mpy")
        compile_firmware(mpy_dir, mpy_cross)
        run_harness = ("-m", SCRIPT.stem)
        frozen = measure32("frozen", (frozen_exe, (".frozen",), run_harness, None), answers, heaps)
        mpy_form = (harness_exe, (".frozen", ""), run_harness, mpy_dir)
        mpy = measure32("mpy", mpy_form, answers, heaps)
    alloc = max(alloc_per_pass(frozen), alloc_per_pass(mpy))
    print("budget:")
    budget("frozen peak %d B <= 64 KB" % frozen["peak"], frozen["peak"] <= BUDGET_FROZEN_PEAK)
    budget("alloc per pass %d B <= 200 B" % alloc, alloc <= BUDGET_ALLOC_PER_PASS)
    budget(
        "the .mpy form fits an ESP32 without PSRAM with the margin", mpy["fits"]["esp32_devkitc"]
    )
    print(
        "firmware32: frozen_peak_bytes=%d frozen_min_heap_k=%d mpy_peak_bytes=%d "
        "mpy_min_heap_k=%d alloc_bytes_per_pass=%d"
        % (frozen["peak"], frozen["min_k"], mpy["peak"], mpy["min_k"], alloc)
    )


def measure32(name, form, answers, heaps):
    """Figures of one form on the 32-bit port, its smallest heap and where it fits."""
    print("== %s form, 32-bit Unix port (%s)" % (name, Path(form[0]).parent.name))
    figures, done = run(form, "256k", 0.01, *answers, alloc=True)
    if not report(figures) or done.returncode != 0:
        fail("256k", done)
    k = figures["min_k"] = min_heap(form, answers, 1, 16, 256, confirm_days=1 / 24)
    # The GC's usable total at that -X heapsize (the allocation table takes the rest) is
    # what a board's gc.mem_alloc() + gc.mem_free() reports: the figure heap_bytes gives.
    usable = run(form, "%dk" % k, 0, *answers)[0]["heap"]
    need = int(usable * MARGIN)
    print(
        "steady live heap: %d B; smallest heap that runs: %dk (%d B usable; 0.01 days, "
        "confirmed by one simulated hour); with the 25 %% margin: %d B"
        % (figures["end"], k, usable, need)
    )
    figures["fits"] = {}
    for board, heap in heaps.items():
        fits = figures["fits"][board] = need <= heap
        print("  %s: %d B heap: %s" % (board, heap, "fits" if fits else "DOES NOT FIT"))
    return figures


def budget(what, met):
    print("  %s: %s" % (what, "met" if met else "NOT MET"))


def alloc_per_pass(figures):
    return figures["alloc"] // figures["alloc_passes"]


def min_heap(form, answers, step_k, lo_k, hi_k, confirm_days=0.0):
    """The smallest -X heapsize in KB, in step_k steps within (lo_k, hi_k], that runs 0.01
    simulated days; with confirm_days, raised until a run of that length completes too."""

    def runs(k, days):
        figures, done = run(form, "%dk" % k, days, *answers)
        return done.returncode == 0 and figures.get("ok") == 1

    lo, hi = lo_k // step_k, hi_k // step_k
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if runs(mid * step_k, 0.01) else (mid, hi)
    k = hi * step_k
    while confirm_days and not runs(k, confirm_days):
        k += step_k
    return k


def fail(heap, done):
    output = (done.stderr + done.stdout).strip().splitlines()
    error = output[-1] if output else "no output"
    sys.exit("FAILED under -X heapsize=%s: %s" % (heap, error))


def run(form, heap, days, ads, pad, alloc=False):
    """Run fw_runtime.py in form (interpreter, MICROPYPATH entries relative to the flash, how
    to name the script, the compiled firmware to put on the flash or None) in a fresh flash
    folder holding the board file, its working directory; alloc: measure the allocation per
    pass too."""
    micropython, path, script, firmware = form
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(path))
    with tempfile.TemporaryDirectory(prefix="pe_flash_") as flash_dir:
        if firmware is not None:
            shutil.copytree(firmware, flash_dir, dirs_exist_ok=True)
        shutil.copy(BOARD, Path(flash_dir, "board.json"))
        cmd = [str(micropython), "-X", "heapsize=" + heap, *script, str(days), ads, pad]
        cmd += ["alloc"] if alloc else []
        done = subprocess.run(cmd, cwd=flash_dir, env=env, capture_output=True, text=True)
    figures = {"heapsize": heap}
    for line in done.stdout.splitlines():
        for item in line.split():
            key, _, value = item.partition("=")
            if value.isdigit():
                figures[key] = int(value)
    return figures, done


if __name__ == "__main__":
    main()
