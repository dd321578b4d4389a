# pilotedge bench: the onewire.OneWire calls built on the four bus primitives (MIT).
#
# MicroPython's onewire module builds select_rom, readinto and crc8 on reset, writebyte,
# write and readbyte; the bench's emulated bus (sim/devices.py) and the test fake
# (hal/fakebus.py) do the same from here, so both answer the drivers alike.


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
