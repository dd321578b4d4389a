"""The firmware runtime under MicroPython: heap, allocation and time per scheduler pass.

Run by tools/bench/firmware.py (see there) as
    MICROPYPATH=.frozen:firmware:protocol:tests/firmware \\
        .venv/bin/micropython -X heapsize=128k tools/bench/fw_runtime.py [--days N] [--probe]
One vessel and one canister (boards/sim) on the fake HAL with register-level sensor models
(tests/firmware/rig.py), all loops in AUTO, the inlet open and a host heartbeat every second.
--probe only prints the bytes the imported modules take (bytecode: flash on a board).
"""

import gc
import sys
import time

gc.collect()
_BASE = gc.mem_alloc()

import rig  # noqa: E402
from tmpflash import tmpdir  # noqa: E402

import app  # noqa: E402
from hal.fake import FakeHal  # noqa: E402
from pilotproto import framing  # noqa: E402
from pilotproto import messages as m  # noqa: E402

gc.collect()
CODE_BYTES = gc.mem_alloc() - _BASE
CHUNK_MS = 60000  # long runs go in simulated minutes; live heap sampled after each
ALLOC_PASSES_MS = 2000  # window with the GC off (must fit in the free heap)
SEND_REPEAT = 50


class BenchUart:
    # The host end reduced to what the firmware sees: a heartbeat frame every second in,
    # everything out counted and dropped (the fake UART would keep it all in RAM).
    def __init__(self, clock):
        self._clock = clock
        self._beat = bytes(framing.Encoder().encode(m.MSG_HEARTBEAT, [0, 0, 0, 0, 0, 0, 0]))
        self._next_ms = 0
        self._pos = len(self._beat)
        self.tx_bytes = 0

    def readinto(self, buf):
        if self._pos >= len(self._beat):
            if self._clock.ticks_diff(self._clock.ticks_ms(), self._next_ms) < 0:
                return None
            self._next_ms = self._clock.ticks_add(self._next_ms, 1000)
            self._pos = 0
        n = min(len(buf), len(self._beat) - self._pos)
        for i in range(n):
            buf[i] = self._beat[self._pos + i]
        self._pos += n
        return n

    def write(self, buf):
        self.tx_bytes += len(buf)
        return len(buf)


class BenchI2C:
    # The two ADS1115 of boards/sim, allocation-free so that only the firmware's own
    # allocations are counted: the conversion result for each config value is computed once
    # from the (constant) plant by the test rig's register model and then replayed.
    def __init__(self, plant, board):
        self._models = {a["addr"]: rig.AdsModel(plant, a["addr"]) for a in board["adc"].values()}
        self._config = {addr: bytearray(2) for addr in self._models}
        self._cache = {}

    def writeto_mem(self, addr, reg, buf):
        c = self._config[addr]
        c[0] = buf[0]
        c[1] = buf[1]

    def readfrom_mem_into(self, addr, reg, buf):
        c = self._config[addr]
        if reg == 1:
            src = c
        else:
            key = addr << 16 | c[0] << 8 | c[1]
            src = self._cache.get(key)
            if src is None:
                model = self._models[addr]
                model[1] = bytes(c)
                src = self._cache[key] = model.get(0)
        buf[0] = src[0]
        buf[1] = src[1]


class BenchOneWire(rig.ThermometerBus):
    # The rig's DS18B20 model without the log of written bytes.
    def __init__(self, plant):
        super().__init__(plant)
        self._pad = None
        self._last = 0

    def writebyte(self, value):
        self._last = value

    def write(self, buf):
        pass

    def readinto(self, buf):
        if self._pad is None:
            self.written = bytearray(b"\xbe")
            pad = bytearray(9)
            rig.ThermometerBus.readinto(self, pad)
            self._pad = pad
        for i in range(len(buf)):
            buf[i] = self._pad[i]


class Pin:
    # A pin without the fake's level history, which would grow for as long as the run.
    def __init__(self, level):
        self.level = level

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = 1 if v else 0
        return None


def build():
    board = rig.load_board()
    plant = rig.Plant()
    plant.temp_c = 33.0  # below the 35 degC set point: the heater PI works
    plant.ph = 1.85  # above 1.7 + deadband: acid pulses every mixing dead time
    hal = FakeHal(board)
    hal.flash_dir = tmpdir()
    hal.uart = BenchUart(hal.clock)
    for e in board["outputs"].values():
        hal.pins[e["pin"]] = Pin(0 if e["active_high"] else 1)
    hal._buses[("i2c", "i2c0")] = BenchI2C(plant, board)
    hal._buses[("onewire", "ow0")] = BenchOneWire(plant)
    rt = app.build(hal, board)
    vessel = rt.units[0]
    for loop in (m.LOOP_PH, m.LOOP_TEMP, m.LOOP_ORP):
        vessel.command(m.VERB_SET_MODE, loop, m.MODE_AUTO, 0)
    return hal, rt


def run_for(rt, clock, ms):
    rt.run(clock.ticks_add(clock.ticks_ms(), ms))


def main():
    if "--probe" in sys.argv:
        print("code_bytes=%d" % CODE_BYTES)
        return
    days = float(sys.argv[sys.argv.index("--days") + 1]) if "--days" in sys.argv else 0.05
    hal, rt = build()
    clock = hal.clock
    run_for(rt, clock, 3000)
    rt.units[1].command(m.VERB_VALVE, 1, 0, 0)
    run_for(rt, clock, 60000)  # warm-up: every task, a dose pulse, every lazily made view
    assert rt.safety.state == m.STATE_RUN, rt.safety.state

    # Allocation per pass, with the GC off so that every allocated byte is counted.
    gc.collect()
    gc.disable()
    p0 = rt.sched.passes
    a0 = gc.mem_alloc()
    run_for(rt, clock, ALLOC_PASSES_MS)
    a1 = gc.mem_alloc()
    passes = rt.sched.passes - p0
    # Telemetry and heartbeat alone: the frames the link sends every second.
    link = rt.link
    t0 = gc.mem_alloc()
    for _ in range(SEND_REPEAT):
        link.send_telemetry(0)
        link._send_heartbeat()
    t1 = gc.mem_alloc()
    gc.enable()
    alloc_per_pass = (a1 - a0) // passes
    tlm_alloc = (t1 - t0) // SEND_REPEAT

    # The long run: wall time per pass, live heap after each simulated minute.
    end_ms = int(days * 86400000)
    done_ms = 0
    wall_us = 0
    p0 = rt.sched.passes
    gc.collect()
    peak = gc.mem_alloc()
    ok = True
    try:
        while done_ms < end_ms:
            step = min(CHUNK_MS, end_ms - done_ms)
            t = time.ticks_us()
            run_for(rt, clock, step)
            wall_us += time.ticks_diff(time.ticks_us(), t)
            done_ms += step
            gc.collect()
            peak = max(peak, gc.mem_alloc())
    except MemoryError:
        ok = False
    passes = max(1, rt.sched.passes - p0)
    us_per_pass = wall_us // passes
    data_peak = peak - CODE_BYTES - _BASE
    vessel = rt.units[0]
    print("modules (bytecode, in flash on a board): %d B" % CODE_BYTES)
    print("live heap peak: %d B total, %d B runtime data" % (peak, data_peak))
    print("passes/s simulated: %.1f" % (passes * 1000 / max(1, done_ms)))
    print("alloc per pass: %d B; per telemetry+heartbeat send: %d B" % (alloc_per_pass, tlm_alloc))
    print(
        "simulated %.3f days in %.1f s: %s; state %d, overruns %d, acid %d uL, tx %d B"
        % (
            done_ms / 86400000,
            wall_us / 1e6,
            "completed" if ok else "MemoryError",
            rt.safety.state,
            rt.sched.overruns,
            vessel.acid.total_ul,
            hal.uart.tx_bytes,
        )
    )
    print(
        "firmware: heap_peak_bytes=%d alloc_bytes_per_cycle=%d us_per_cycle=%d"
        % (data_peak, alloc_per_pass, us_per_pass)
    )


main()
