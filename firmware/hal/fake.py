# pilotedge: tiny deterministic fake HAL for tests, CPython and MicroPython (MIT).
#
# Same duck-typed objects as hal/README.md, with no plant behind them: the test scripts what
# a bus returns and inspects what the driver wrote. Select it with {"hal": "fake"} or build
# the pieces directly (FakeClock(), FakePin(), ...). The scripted buses are in
# hal/fakebus.py, imported when a bus is first asked for: a user that brings its own buses
# does not load them. FakeClock lives in hal/clock.py (re-exported here).

import boardfile
from hal.clock import FakeClock
from pilotproto.messages import RESET_POWER_ON


class FakePin:
    # Records every level driven: `history[-1]` is the current one.
    def __init__(self, value=0):
        self.history = [value]

    def value(self, v=None):
        if v is None:
            return self.history[-1]
        self.history.append(1 if v else 0)
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class FakeUart:
    # feed() queues bytes for readinto(); write() appends to `tx`.
    def __init__(self):
        self.rx = bytearray()
        self.tx = bytearray()

    def feed(self, data):
        self.rx.extend(data)

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        if not n:
            return None
        for i in range(n):
            buf[i] = self.rx[i]
        self.rx = self.rx[n:]
        return n

    def write(self, buf):
        self.tx.extend(buf)
        return len(buf)


class FakeWdt:
    def __init__(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self.feeds = 0

    def feed(self):
        self.feeds += 1


class FakeReset(Exception):
    # Raised by FakeHal.reset(): a real reset never returns either.
    pass


class FakeHal:
    def __init__(self, board):
        self.clock = FakeClock()
        self.uart = FakeUart()
        self.wdt = None
        self.flash_dir = ""
        self.fs = None  # the port's own filesystem
        self.uptime_start_ms = 0  # the runtime's uptime at boot (a test may start it late)
        self.cause = RESET_POWER_ON  # what reset_cause() returns
        self.services = 0
        self._buses = {}  # (kind, name) -> fake bus, so hal.i2c("i2c0") is one object
        self.pins = {}
        # What the buses and pins made on request need, taken from the board now: the HAL
        # keeps no reference to the board dict, which can be freed once the runtime is built.
        self._bus_names = [
            (kind, name) for kind in ("i2c", "onewire", "spi") for name in board[kind]
        ]
        self._adcs = [(adc["bus"], adc["addr"]) for adc in board["adc"].values()]
        self._levels = boardfile.safe_levels(board)

    def _bus(self, kind, name):
        key = (kind, name)
        bus = self._buses.get(key)
        if bus is None:
            if key not in self._bus_names:
                raise KeyError(name)  # not in the board
            from hal import fakebus

            if kind == "i2c":
                # Every ADC the board puts on this bus answers, with an empty register map.
                bus = fakebus.FakeI2C({addr: {} for on, addr in self._adcs if on == name})
            elif kind == "onewire":
                bus = fakebus.FakeOneWire()
            else:
                bus = fakebus.FakeSPI()
            self._buses[key] = bus
        return bus

    def i2c(self, bus):
        return self._bus("i2c", bus)

    def onewire(self, bus):
        return self._bus("onewire", bus)

    def spi(self, bus):
        return self._bus("spi", bus)

    def pin(self, name):
        # A board output's pin or a chip select (KeyError for any other name).
        if name not in self.pins:
            self.pins[name] = FakePin(self._levels[name])
        return self.pins[name]

    def start_watchdog(self, timeout_ms):
        self.wdt = FakeWdt(timeout_ms)

    def reset_cause(self):
        return self.cause

    def reset(self):
        raise FakeReset()

    def to_repl(self):
        raise SystemExit

    def service(self):
        self.services += 1


def make(board):
    return FakeHal(board)
