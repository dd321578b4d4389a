# pilotedge: tiny deterministic fake HAL for tests, CPython and MicroPython (MIT).
#
# Same duck-typed objects as hal/README.md, with no plant behind them: the test scripts what
# a bus returns and inspects what the driver wrote. Select it with {"hal": "fake"} or build
# the pieces directly (FakeClock(), FakeI2C({0x48: {...}}), ...).

import boardfile
from pilotproto.messages import RESET_POWER_ON

_TICKS_PERIOD = 1 << 30  # MicroPython ports wrap ticks_ms at 2**30
_ENODEV = 19  # errno of an I2C NACK


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


class FakeI2C:
    # Register map per address: mem[addr][reg] = bytes. A read copies the stored bytes
    # (zero-padded); a write stores them and is logged in `writes` as (addr, reg, bytes).
    # An address not in mem, or fail = True, raises OSError like a NACK.
    def __init__(self, mem=None):
        self.mem = {} if mem is None else mem
        self.writes = []
        self.fail = False

    def _device(self, addr):
        if self.fail or addr not in self.mem:
            raise OSError(_ENODEV)
        return self.mem[addr]

    def readfrom_mem_into(self, addr, reg, buf):
        data = self._device(addr).get(reg, b"")
        for i in range(len(buf)):
            buf[i] = data[i] if i < len(data) else 0

    def writeto_mem(self, addr, reg, buf):
        data = bytes(buf)
        self._device(addr)[reg] = data
        self.writes.append((addr, reg, data))

    def scan(self):
        return [] if self.fail else sorted(self.mem)


def crc8(data):
    # Dallas/Maxim 1-Wire CRC-8 (x^8 + x^5 + x^4 + 1, reflected), as onewire.OneWire.crc8.
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
    return crc


class FakeOneWire:
    # Scripted bus: `present` answers reset(); every byte written is appended to `written`;
    # reads take bytes queued in `to_read` and return 0xFF (idle bus) once it is empty.
    def __init__(self, roms=()):
        self.present = True
        self.roms = list(roms)
        self.resets = 0
        self.written = bytearray()
        self.to_read = bytearray()

    def reset(self, required=False):
        self.resets += 1
        if required and not self.present:
            raise OSError(_ENODEV)
        return self.present

    def writebyte(self, value):
        self.written.append(value)

    def write(self, buf):
        self.written.extend(buf)

    def readbyte(self):
        if not self.to_read:
            return 0xFF
        value = self.to_read[0]
        self.to_read = self.to_read[1:]
        return value

    def readinto(self, buf):
        for i in range(len(buf)):
            buf[i] = self.readbyte()

    def select_rom(self, rom):
        self.reset()
        self.writebyte(0x55)
        self.write(rom)

    def scan(self):
        return list(self.roms) if self.present else []

    def crc8(self, data):
        return crc8(data)


class FakeSPI:
    # One register-addressed SPI device, the MAX31865 convention: the first byte is the
    # address (bit 7 set = write), then the address auto-increments. Register file `regs`;
    # complete write transfers are logged in `writes`; fail = True raises OSError.
    def __init__(self, size=8):
        self.regs = bytearray(size)
        self.writes = []
        self.fail = False

    def _transfer(self, wbuf, rbuf):
        if self.fail:
            raise OSError(_ENODEV)
        writing = wbuf[0] & 0x80
        reg = wbuf[0] & 0x7F
        if rbuf is not None:
            rbuf[0] = 0xFF  # MISO is undefined while the address is clocked in
        for i in range(1, len(wbuf)):
            r = (reg + i - 1) % len(self.regs)
            if writing:
                self.regs[r] = wbuf[i]
            elif rbuf is not None:
                rbuf[i] = self.regs[r]
        if writing:
            self.writes.append(bytes(wbuf))

    def write(self, buf):
        self._transfer(buf, None)

    def write_readinto(self, wbuf, rbuf):
        self._transfer(wbuf, rbuf)

    def readinto(self, buf, write=0):
        self._transfer(bytes([write]) * len(buf), buf)


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
        self._board = board
        self.clock = FakeClock()
        self.uart = FakeUart()
        self.wdt = None
        self.flash_dir = ""
        self.cause = RESET_POWER_ON  # what reset_cause() returns
        self.services = 0
        self._buses = {}  # (kind, name) -> fake bus, so hal.i2c("i2c0") is one object
        self.pins = {}

    def _bus(self, kind, name, make):
        key = (kind, name)
        if key not in self._buses:
            self._buses[key] = make(self._board[kind][name])  # KeyError: not in the board
        return self._buses[key]

    def i2c(self, bus):
        # Every ADC the board puts on this bus answers, with an empty register map.
        def make(_entry):
            adcs = self._board["adc"].values()
            return FakeI2C({adc["addr"]: {} for adc in adcs if adc["bus"] == bus})

        return self._bus("i2c", bus, make)

    def onewire(self, bus):
        return self._bus("onewire", bus, lambda _entry: FakeOneWire())

    def spi(self, bus):
        return self._bus("spi", bus, lambda _entry: FakeSPI())

    def pin(self, name):
        if name not in self.pins:
            self.pins[name] = FakePin(boardfile.pin_safe_level(self._board, name))
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
