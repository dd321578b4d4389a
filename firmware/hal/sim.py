# pilotedge: the HAL of a virtual-bench board (MIT).
#
# The bench's simulated board (sim/hardware.py, the bench's counterpart of a port's `machine`
# module) has the chips, pins, timer, watchdog, serial port and flash; this module hands them
# to the firmware as hal/README.md describes, so the firmware runs unchanged. Time: the
# firmware's ticks wrap at 2**30 like a port's (hal/clock.py); every sleep lets the
# simulated world run that long. Flash writes go through `fs`, where a power cut the bench
# armed (the flash_cut event) strikes mid-write.

from hal.clock import FakeClock
from runtime.store import OsFs
from sim import hardware


class SimClock(FakeClock):
    """Ticks as a board's; every sleep advances the simulated board to its deadline."""

    def __init__(self, board):
        FakeClock.__init__(self, board.ticks_start_ms)
        self._board = board

    def sleep_until(self, t_ms):
        # Hot path (once per firmware pass): few locals, see World.advance_to.
        d = self.ticks_diff(t_ms, self.now_ms)
        if d > 0:
            self._board.sleep_ms(d)
            self.advance(d)

    def wall_ms(self):
        return self._board.wall_ms()


class SimFs(OsFs):
    """The board's flash; a write that an armed power cut interrupts stops after the bytes
    the cut allows, and the board loses power there."""

    def __init__(self, board):
        self._board = board

    def write(self, path, data):
        keep = self._board.cut_after(len(data))
        if keep is None:
            OsFs.write(self, path, data)
            return
        with open(path, "wb") as f:
            f.write(data[:keep])
            f.flush()
        self._board.exit("power", self._board.cut_off_ms)


class SimHal:
    def __init__(self, board):
        sim = self._sim = hardware.running()
        self.clock = SimClock(sim)
        self.uart = sim.uart
        self.flash_dir = sim.flash_dir
        self.fs = SimFs(sim)
        self.uptime_start_ms = sim.uptime_start_ms
        self.wdt = None

    def i2c(self, bus):
        return self._sim.world.i2c[bus]

    def onewire(self, bus):
        return self._sim.world.onewire[bus]

    def spi(self, bus):
        return self._sim.world.spi[bus]

    def pin(self, name):
        return self._sim.world.pin(name)

    def start_watchdog(self, timeout_ms):
        self.wdt = self._sim.start_watchdog(timeout_ms)

    def reset_cause(self):
        return self._sim.reset_cause

    def reset(self):
        self._sim.exit("soft")

    def to_repl(self):
        raise SystemExit

    def service(self):
        self._sim.service()


def make(board):
    return SimHal(board)
