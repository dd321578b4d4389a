"""The firmware as a 32-bit board holds it, and the manifest that freezes it.

The 32-bit tests run on MicroPython's Unix port built with MICROPY_FORCE_32BIT from the
source in tools/micropython-src/ (tools/build_micropython.py: about 15 s once, then cached in
build/). There a small int is 31-bit signed, as on an ESP32 or RP2040, so arithmetic that
leaves that range allocates a long int. The build needs gcc-multilib: CI installs it
(.ci/run); elsewhere these tests are skipped with the command that installs it.
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
import test_on_micropython  # this folder is on sys.path, as for every test here

from mpy import FIRMWARE, PROTOCOL, REPO, run_micropython

sys.path.insert(0, str(REPO / "tools"))
import build_micropython  # noqa: E402

HERE = Path(__file__).resolve().parent
BOARDS = REPO / "boards"
# Firmware and pilotproto modules that no board imports: the bench's plant models and HAL,
# the test HAL, the benchmark's clock, the host-side conversions, and the spec's names and
# tables (a board module has the spec values it uses in a generated block of its own).
NOT_ON_A_BOARD = {"hal/fake.py", "hal/fakebus.py", "hal/sim.py", "hal/clock.py"}
NOT_ON_A_BOARD |= {"pilotproto/convert.py", "pilotproto/schema.py", "pilotproto/messages.py"}


@pytest.fixture(scope="module")
def mp32():
    try:
        return build_micropython.plain()
    except build_micropython.BuildError as e:
        if os.environ.get("CI") or build_micropython.NO_MULTILIB not in str(e):
            raise
        pytest.skip(str(e))


def test_the_shared_firmware_tests_pass_on_the_32bit_port(mp32):
    modules = list(test_on_micropython.MODULES)
    assert "test_clock" in modules and "test_store" in modules
    out = run_micropython(
        HERE / "mp_runner.py",
        heap="768k",  # the rigs and their worlds too (the firmware alone: tools/bench/firmware.py)
        path=[FIRMWARE, PROTOCOL, HERE],
        args=modules + ["test_runtime"],
        timeout_s=300,
        micropython=mp32,
    )
    passed = [line.split()[1] for line in out.splitlines() if line.startswith("OK ")]
    assert passed == modules + ["test_runtime"], out


def test_golden_vectors_on_the_32bit_port(mp32):
    vectors = sorted((PROTOCOL / "vectors").glob("*.json"))
    count = sum(len(json.loads(p.read_text())) for p in vectors)
    script = REPO / "tests" / "protocol" / "mpy_vectors.py"
    out = run_micropython(script, path=[PROTOCOL], args=vectors, micropython=mp32)
    assert out == "OK %d\n" % count


ALLOCATION = """
import gc
from hal.clock import FakeClock
from pilotproto import framing
from pilotproto import messages as m

clock = FakeClock((1 << 30) - 5000)
enc = framing.Encoder()
dec = framing.Decoder()
frames = []
for i in range(64):  # a spread of CRC values: three in four are 2**30 or more
    frames.append(bytes(enc.encode(m.MSG_HEARTBEAT, [i * 7919, 1, 2, 3, 4, 5, 6])))
got = [0]  # frames handled


def handler(msg_id, seq, flags, body, n):
    got[0] += 1


def measure():
    # Locals only: a new global would grow the module's dict while counting.
    dec.feed(frames[0], len(frames[0]), handler)  # warm: the cached view of this length
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    t = clock.ticks_ms()
    for _ in range(2000):  # across the ticks wrap, in both directions
        t = clock.ticks_add(t, 7)
        clock.ticks_diff(t, clock.ticks_ms())
        clock.ticks_diff(clock.ticks_ms(), t)
        clock.advance(3)
    b = gc.mem_alloc()
    for i in range(len(frames)):
        dec.feed(frames[i], len(frames[i]), handler)
    c = gc.mem_alloc()
    print(b - a, c - b, got[0], t)


measure()
"""


def test_clock_and_decoder_allocate_nothing_on_the_32bit_port(mp32):
    # Before the mask arithmetic a control pass allocated 1.8 KB here; a decoder that built
    # the received CRC as an int, two long ints per frame.
    out = run_micropython(ALLOCATION, path=[FIRMWARE, PROTOCOL], micropython=mp32)
    clock_bytes, decode_bytes, frames, ticks = map(int, out.split())
    assert frames == 65 and ticks == 9000  # 2**30 - 5000 + 2000 * 7, wrapped
    assert clock_bytes == 0 and decode_bytes == 0


def firmware_modules():
    return {
        rel.as_posix()
        for root in (FIRMWARE, PROTOCOL)
        for rel in (p.relative_to(root) for p in root.rglob("*.py"))
        if rel.parts[0] != "sim"
    }


@pytest.mark.parametrize("board", ["esp32_devkitc", "rp2040_pico"])
def test_the_manifest_freezes_the_firmware_a_board_imports(board):
    modules = build_micropython.board_modules(BOARDS / board / "board.json")
    frozen = {rel.as_posix() for _, rel in modules}
    assert len(frozen) == len(modules)
    assert {"main.py", "app.py", "hal/mcu.py", "boardcheck.py", "pilotproto/framing.py"} <= frozen
    assert frozen == firmware_modules() - NOT_ON_A_BOARD
    text = build_micropython.manifest(modules)
    assert text.count("\n") == len(modules) and "module('hal/mcu.py', base_path=" in text


def test_the_manifest_follows_the_hal_the_board_names():
    frozen = {
        rel.as_posix() for _, rel in build_micropython.board_modules(BOARDS / "sim" / "board.json")
    }
    assert {"hal/sim.py", "hal/clock.py", "sim/world.py"} <= frozen
    assert "hal/mcu.py" not in frozen


RECORD_IMPORTS = """
import builtins
import sys

seen = set()
_import = builtins.__import__


def record(*args):
    module = _import(*args)
    seen.update(sys.modules)  # also what is dropped again after boot (checker, wiring)
    return module


builtins.__import__ = record
sys.argv[0] = "fw_runtime"
import fw_runtime
print(" ".join(sorted(seen)))
"""


def test_the_board_imports_nothing_that_is_not_frozen(tmp_path):
    # The ESP32 board booted and run (the benchmark's harness, its machine stand-ins) on the
    # .venv's interpreter: every firmware module it imports is in the manifest, and the
    # manifest adds only main.py (the harness boots like it), the drivers of sensors this
    # board lacks and the calibration code, which a board imports only while it calibrates.
    bench = REPO / "tools" / "bench"
    spec = importlib.util.spec_from_file_location("bench_firmware", bench / "firmware.py")
    firmware = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(firmware)
    ads, pad = firmware.plant_answers()
    (tmp_path / "board.json").write_text(firmware.BOARD.read_text())  # the flash, as a board's
    out = run_micropython(
        RECORD_IMPORTS,
        heap="512k",
        path=[FIRMWARE, PROTOCOL, bench / "fw_port", bench],
        args=["0", ads, pad],
        cwd=tmp_path,
    )
    imported = set(out.splitlines()[-1].split())
    names = {
        rel.with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__"): rel.as_posix()
        for _, rel in build_micropython.board_modules(BOARDS / "esp32_devkitc" / "board.json")
    }
    loaded = {names[n] for n in imported if n in names}
    unknown = {n for n in imported if n not in names}
    assert unknown == {"fw_runtime", "machine", "onewire", "hal.clock"}  # the harness's
    calibration = {"units/calibrate.py", "control/calrecord.py", "control/phcal.py",
                   "control/pumpcal.py", "control/steady.py"}
    lacks = {"drivers/max31865.py", "drivers/linear.py"}
    assert set(names.values()) - loaded == {"main.py"} | lacks | calibration
