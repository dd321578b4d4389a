# pilotedge bench: the bus calls the drivers use, built on each bus's primitives (MIT).
#
# MicroPython's onewire module builds select_rom, readinto and crc8 on reset, writebyte,
# write and readbyte; machine.SPI's write, write_readinto and readinto are one full-duplex
# transfer each. The bench's emulated buses (sim/devices.py) and the test fakes
# (hal/fakebus.py) build them from here, so both answer the drivers alike.


def crc8(data):
    # Dallas/Maxim 1-Wire CRC-8 (x^8 + x^5 + x^4 + 1, reflected), as onewire.OneWire.crc8.
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8C if crc & 1 else crc >> 1
    return crc


class OneWireOps:
    # Subclasses provide the four bus primitives.
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


class SpiOps:
    # machine.SPI calls on one primitive, _transfer(wbuf, rbuf): clock wbuf out and, unless
    # rbuf is None, what comes back into rbuf.
    def _transfer(self, wbuf, rbuf):
        raise NotImplementedError

    def write(self, buf):
        self._transfer(buf, None)

    def write_readinto(self, wbuf, rbuf):
        self._transfer(wbuf, rbuf)

    def readinto(self, buf, write=0):
        self._transfer(bytes([write]) * len(buf), buf)
