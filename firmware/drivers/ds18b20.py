# pilotedge: DS18B20 1-Wire thermometer over an injected onewire.OneWire (MIT).
#
# Non-blocking use: start() sends Convert T, the scheduler waits conversion_ms, then
# read_c() reads and checks the scratchpad. read_c() returns degC or None with `fault` set
# (drivers/fault.py); it never raises for a bus fault.

from compat import const
from drivers import fault

_MATCH_ROM = const(0x55)
_SKIP_ROM = const(0xCC)
_CONVERT_T = const(0x44)
_READ_SCRATCHPAD = const(0xBE)

_RAW_POWER_ON = const(0x0550)  # 85.00 degC held until the first conversion completes [S55]
_RAW_FAILED = const(0x07FF)  # 127.94 degC: conversion failed / not enough power [S55]
_POWER_ON_BYTE6 = const(0x0C)  # scratchpad byte 6 at power-on; a real 85.00 gives 0x10 [S55]
_RAW_MIN = const(-55 * 16)  # datasheet range -55 ... +125 degC [S54]
_RAW_MAX = const(125 * 16)
_NEAR_85_C = const(1.0)  # an 85.00 reading is believed only right after a reading this close [S54]

FAMILIES = (0x28, 0x22)  # DS18B20, DS1822: same scratchpad format [S57]
_CONVERSION_MS = const(750)  # 12-bit maximum [S54]


class DS18B20(fault.StartReadThermometer):
    def __init__(self, ow, rom=None):
        # rom: 8-byte ROM code for Match ROM, or None for Skip ROM (sole device on the bus).
        if rom is not None and (len(rom) != 8 or rom[0] not in FAMILIES):
            raise ValueError("ds18b20 rom")
        self._ow = ow
        self._rom = rom
        self._scratch = bytearray(9)  # reused by every read_c()
        self._started = False
        self.conversion_ms = _CONVERSION_MS
        self.last_c = None  # last accepted reading, for the 85 degC plausibility rule
        self.fault = fault.NONE

    def _address(self):
        # Reset and address the device; False when no presence pulse (absent or open bus).
        ow = self._ow
        if not ow.reset():
            self.fault = fault.BUS
            return False
        if self._rom is None:
            ow.writebyte(_SKIP_ROM)
        else:
            ow.writebyte(_MATCH_ROM)
            ow.write(self._rom)
        return True

    def _start(self):
        if not self._address():
            return False
        self._ow.writebyte(_CONVERT_T)
        return True

    def _read(self):
        scratch = self._scratch
        if not self._address():
            return None
        self._ow.writebyte(_READ_SCRATCHPAD)
        self._ow.readinto(scratch)
        raw = self._validate(scratch)
        if raw is None:
            return None
        t_c = raw / 16
        self.last_c = t_c
        return t_c

    def _raw(self, scratch):
        raw = scratch[0] | scratch[1] << 8
        if raw & 0x8000:
            raw -= 0x10000
        # Bits below the configured resolution are undefined [S54]: 12 bit keeps all four.
        undefined = 3 - (scratch[4] >> 5 & 3)
        return raw & ~((1 << undefined) - 1)

    def _validate(self, scratch):
        # Raw 1/16 degC value of a plausible scratchpad, else None with `fault` set.
        self.fault = fault.NONE
        if self._ow.crc8(scratch):  # CRC over all 9 bytes including the CRC is 0 [S57]
            self.fault = fault.CRC
            return None
        # A bus held low reads as all zeros, whose CRC is also 0; config bits 0-4 always read
        # 1 and bit 7 reads 0 [S54], so a real device never returns that.
        if scratch[4] & 0x9F != 0x1F:
            self.fault = fault.BUS
            return None
        raw = self._raw(scratch)
        if raw == _RAW_FAILED:
            self.fault = fault.CONVERSION
        elif raw == _RAW_POWER_ON and (
            scratch[6] == _POWER_ON_BYTE6
            or self.last_c is None
            or abs(self.last_c - 85.0) > _NEAR_85_C
        ):
            self.fault = fault.RESET_VALUE
        elif not _RAW_MIN <= raw <= _RAW_MAX:
            self.fault = fault.RANGE
        else:
            return raw
        return None
