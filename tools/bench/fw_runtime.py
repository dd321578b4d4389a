"""The firmware runtime under MicroPython, as tools/bench/firmware.py runs it (see there).

    MICROPYPATH=<mpy>:<mpy>/port .venv/bin/micropython -X heapsize=128k \\
        tools/bench/fw_runtime.py DAYS ADS PAD FLASH_DIR

(<mpy>: the firmware, pilotproto and fw_port/ compiled by firmware.py with mpy-cross.) On
the 32-bit builds of firmware.py --board32 this module and the stand-ins are frozen and run
as `micropython -m fw_runtime DAYS ADS PAD FLASH_DIR`.

The ESP32 DevKitC board file (one vessel, one canister) on the real board HAL
(firmware/hal/mcu.py), whose machine and onewire modules are the stand-ins in fw_port/.
Time is a manual clock, the host end a heartbeat every second, all loops in AUTO and the
inlet open. Kept small on purpose, so that the heap holds only the interpreter, the
firmware and this replay harness: the plant is constant and firmware.py computes what the
sensors answer from the bench's chip emulations (ADS: "key:hex,..." with key = addr << 6 |
MUX << 3 | PGA, PAD: the DS18B20 scratchpad in hex). Prints key=value figures as it gets
them (so a MemoryError still shows how far it got); firmware.py reports them.
"""

import gc
import sys
import time

import machine  # the stand-in in fw_port/: in ROM on a board, here part of the harness
import onewire  # the stand-in in fw_port/

gc.collect()
print("heap=%d start=%d" % (gc.mem_alloc() + gc.mem_free(), gc.mem_alloc()))  # interpreter + this

import boardfile  # noqa: E402

# As main.py does: the board file is checked before the runtime is imported, so the checker
# (which boardfile drops again) and the runtime are never in the heap together.
board = boardfile.load("boards/esp32_devkitc/board.json")
gc.collect()
print("board=%d" % gc.mem_alloc())

import app  # noqa: E402
import hal  # noqa: E402
from hal.clock import FakeClock  # noqa: E402
from pilotproto import framing  # noqa: E402
from pilotproto import messages as m  # noqa: E402


class Host:
    # The host end of the protocol UART: a heartbeat frame every second in, everything out
    # counted and dropped.
    def __init__(self, clock):
        self.clock = clock
        self.beat = bytes(framing.Encoder().encode(m.MSG_HEARTBEAT, [0, 0, 0, 0, 0, 0, 0]))
        self.next_ms = 0
        self.pos = len(self.beat)
        self.tx_bytes = 0

    def readinto(self, buf):
        if self.pos >= len(self.beat):
            if self.clock.ticks_diff(self.clock.ticks_ms(), self.next_ms) < 0:
                return None
            self.next_ms = self.clock.ticks_add(self.next_ms, 1000)
            self.pos = 0
        n = min(len(buf), len(self.beat) - self.pos)
        for i in range(n):
            buf[i] = self.beat[self.pos + i]
        self.pos += n
        return n

    def write(self, buf):
        self.tx_bytes += len(buf)
        return len(buf)


def live():
    gc.collect()
    return gc.mem_alloc()


def run_for(rt, clock, ms):
    rt.run(clock.ticks_add(clock.ticks_ms(), ms))


def build(answers, pad, flash_dir):
    machine.I2C.answers = answers
    onewire.OneWire.pad = pad
    board_hal = hal.make(board)
    board_hal.clock = clock = FakeClock()  # simulated time instead of the port's ticks
    board_hal.flash_dir = flash_dir
    machine.UART.script = Host(clock)
    return board_hal, app.build(board_hal, board)


def main(days, ads, pad, flash_dir):
    global board
    print("imported=%d" % live())
    answers = {}
    for item in ads.split(","):
        key, code = item.split(":")
        answers[int(key)] = bytes.fromhex(code)
    board_hal, rt = build(answers, bytes.fromhex(pad), flash_dir)
    clock = board_hal.clock
    peak = live()  # the board file is still here: the boot peak
    print("boot=%d" % peak)
    board = None  # from here on the runtime runs on what it took from the board at build
    vessel = rt.units[0]
    for loop in (m.LOOP_PH, m.LOOP_TEMP, m.LOOP_ORP):
        vessel.command(m.VERB_SET_MODE, loop, m.MODE_AUTO, 0)
    run_for(rt, clock, 3000)
    rt.units[1].command(m.VERB_VALVE, 1, 0, 0)
    run_for(rt, clock, 60000)  # warm-up: every task, a dose pulse, every lazily made view
    assert rt.safety.state == m.STATE_RUN, rt.safety.state
    print("built=%d" % live())

    # Allocation per pass over one period of every task, with the GC off so that every
    # allocated byte is counted (it must fit the free heap).
    gc.disable()
    p0 = rt.sched.passes
    a0 = gc.mem_alloc()
    run_for(rt, clock, 1000)
    print("alloc=%d alloc_passes=%d" % (gc.mem_alloc() - a0, rt.sched.passes - p0))
    a0 = gc.mem_alloc()
    rt.link.send_telemetry(0)  # the frames the link sends every second
    rt.link._send_heartbeat()
    print("alloc_send=%d" % (gc.mem_alloc() - a0))
    gc.enable()

    # The long run: wall time per pass, live heap after each simulated minute.
    end_ms = int(days * 86400000)
    done_ms = wall_us = 0
    p0 = rt.sched.passes
    peak = max(peak, live())
    ok = 1
    try:
        while done_ms < end_ms:
            step = min(60000, end_ms - done_ms)
            t = time.ticks_us()
            run_for(rt, clock, step)
            wall_us += time.ticks_diff(time.ticks_us(), t)
            done_ms += step
            peak = max(peak, live())
    except MemoryError:
        ok = 0
    end = live()  # the steady live heap, after the run
    print(
        "peak=%d end=%d sim_ms=%d passes=%d wall_us=%d"
        % (max(peak, end), end, done_ms, rt.sched.passes - p0, wall_us)
    )
    print(
        "state=%d overruns=%d acid_ul=%d"
        % (rt.safety.state, rt.sched.overruns, vessel.acid.total_ul)
    )
    print("tx=%d feeds=%d ok=%d" % (machine.UART.script.tx_bytes, machine.WDT.feeds, ok))


main(float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
