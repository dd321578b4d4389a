# pilotedge: tiny deterministic fake HAL for tests, CPython and MicroPython (MIT).
#
# Same duck-typed objects as hal/README.md, with no plant behind them: the test scripts what
# a bus returns and inspects what the driver wrote. Select it with {"hal": "fake"} or build
# the pieces directly (FakeClock(), FakePin(), ...). The scripted buses are in
# hal/fakebus.py, imported when a bus is first asked for: a user that brings its own buses
# (the firmware benchmark) does not load them.

import boardfile
from compat import const
from pilotproto.messages import RESET_POWER_ON

_TICKS_PERIOD = const(1 << 30)  # MicroPython ports wrap ticks_ms at 2**30


class FakeClock:
    # Manual clock: time moves only by advance() and sleep_until().
    def __init__(self, start_ms=0):
        self.now_ms = start_ms % _TICKS_PERIOD
        self.elapsed_ms = 0  # total advanced, for wall_ms()

    def ticks_ms(self):
        return self.now_ms

    def ticks_add(self, ticks, delta):
        return (ticks + delta) % _TICKS_PERIOD

    def ticks_diff(self, a, b):
        d = (a - b) % _TICKS_PERIOD
        return d - _TICKS_PERIOD if d >= _TICKS_PERIOD // 2 else d

    def advance(self, ms):
        self.now_ms = (self.now_ms + ms) % _TICKS_PERIOD
        self.elapsed_ms += ms

    def sleep_until(self, t_ms):
        d = self.ticks_diff(t_ms, self.now_ms)
        if d > 0:
            self.advance(d)

    def wall_ms(self):
        return self.elapsed_ms


def crc8(data):
    # Dallas/Maxim 1-Wire CRC-8 (x^8 + x^5 + x^4 + 1, reflected), as onewire.OneWire.crc8.
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
    return crc


class OneWireOps:
    # The onewire.OneWire calls built on reset/writebyte/write/readbyte, shared by the test
    # fake (hal/fakebus.py) and the bench's emulated bus (sim/devices.py). Subclasses
    # provide the four bus primitives.
    def reset(self, required=False):
        raise NotImplementedError

    def writebyte(self, value):
        raise NotImplementedError

    def write(self, buf):
        raise NotImplementedError

    def readbyte(self):
        raise NotImplementedError

    def readinto(self, buf):
        for i in range(len(buf)):
            buf[i] = self.readbyte()

    def select_rom(self, rom):
        self.reset()
        self.writebyte(0x55)  # Match ROM
        self.write(rom)

    def crc8(self, data):
        return crc8(data)


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
        pins = [e["pin"] for e in board["outputs"].values()]
        pins += [e["cs"] for e in board["sensors"].values() if "cs" in e]
        self._levels = {name: boardfile.pin_safe_level(board, name) for name in pins}

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
