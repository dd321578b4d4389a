# pilotedge: scripted bus fakes for tests: I2C, 1-Wire, SPI (MIT), CPython and MicroPython.
#
# The test scripts what a bus returns and inspects what the driver wrote (hal/README.md).
# FakeHal (hal/fake.py) imports this module when a test first asks it for a bus.

from compat import const
from sim.buses import OneWireOps, SpiOps

_ENODEV = const(19)  # errno of an I2C NACK


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


class FakeOneWire(OneWireOps):
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


    def scan(self):
        return list(self.roms) if self.present else []


class FakeSPI(SpiOps):
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
