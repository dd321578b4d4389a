# pilotedge: TI ADS1115 16-bit I2C ADC, single-shot, register level (MIT).
#
# Non-blocking use: start(channel, fsr_mv), let the scheduler wait conversion_ms, then
# read_mv(). Bus errors never raise: read_mv() returns None and `fault` says why
# (drivers/fault.py). Register map and config bits from the ADS111x datasheet [S46].

from compat import const
from drivers import fault

_REG_CONVERSION = const(0x00)
_REG_CONFIG = const(0x01)
_OS = const(0x8000)  # write: start a single conversion; read: 1 = not converting
_MODE_SINGLE = const(0x0100)
_COMP_DISABLE = const(0x0003)  # comparator off, ALERT/RDY high-impedance
_SETUP_MASK = const(0x7FFF)  # every config bit except OS reads back as written

# Input multiplexer, keyed by the board-file channel string ("0" = AIN0 vs GND).
MUX = {"0-1": 0, "0-3": 1, "1-3": 2, "2-3": 3, "0": 4, "1": 5, "2": 6, "3": 7}
# PGA full-scale range in mV -> PGA bits.
PGA = {6144: 0, 4096: 1, 2048: 2, 1024: 3, 512: 4, 256: 5}
# Data rate in samples/s -> DR bits.
SPS = {8: 0, 16: 1, 32: 2, 64: 3, 128: 4, 250: 5, 475: 6, 860: 7}


class ADS1115:
    def __init__(self, i2c, addr=0x48, sps=128):
        if sps not in SPS:
            raise ValueError("ads1115 sps")
        self._i2c = i2c
        self._addr = addr
        self._dr_bits = SPS[sps] << 5
        # One conversion period plus the 10 % oscillator tolerance [S46], plus 1 ms so a
        # millisecond tick that started late still covers it.
        self.conversion_ms = (1100 + sps - 1) // sps + 1
        # Reused by every transfer: config written / read back, then the conversion result.
        self._buf = bytearray(2)
        self._setup = 0  # config bits of the pending conversion, 0 = none pending
        self._fsr_mv = 0
        self.fault = fault.NONE

    def start(self, channel, fsr_mv):
        # Begin one conversion. channel is a MUX key and fsr_mv a PGA key: KeyError for an
        # input or range the chip lacks (board files are validated against both tables).
        setup = (
            MUX[channel] << 12 | PGA[fsr_mv] << 9 | _MODE_SINGLE | self._dr_bits | _COMP_DISABLE
        )
        config = _OS | setup
        self._buf[0] = config >> 8
        self._buf[1] = config & 0xFF
        try:
            self._i2c.writeto_mem(self._addr, _REG_CONFIG, self._buf)
        except OSError:
            self._setup = 0
            self.fault = fault.BUS
            return
        self._setup = setup
        self._fsr_mv = fsr_mv
        self.fault = fault.NONE

    def read_mv(self):
        # Result of the last start() in mV (float), or None with `fault` set.
        setup = self._setup
        if not setup:
            if self.fault == fault.NONE:
                self.fault = fault.NOT_READY
            return None
        self._setup = 0
        buf = self._buf
        try:
            self._i2c.readfrom_mem_into(self._addr, _REG_CONFIG, buf)
            config = buf[0] << 8 | buf[1]  # big-endian, built by hand: no tuple allocated
            # Still converting, or the config changed (power glitch reset it to 0x8583, or
            # another caller started a conversion): the result would belong to another input.
            if not config & _OS or config & _SETUP_MASK != setup:
                self.fault = fault.NOT_READY
                return None
            self._i2c.readfrom_mem_into(self._addr, _REG_CONVERSION, buf)
        except OSError:
            self.fault = fault.BUS
            return None
        self.fault = fault.NONE
        raw = buf[0] << 8 | buf[1]
        if raw & 0x8000:  # two's complement
            raw -= 0x10000
        return raw * self._fsr_mv / 32768

    def read_blocking_mv(self, channel, fsr_mv, clock):
        # Convenience for tests and the REPL only: the scheduler never blocks on a sensor.
        self.start(channel, fsr_mv)
        clock.sleep_until(clock.ticks_add(clock.ticks_ms(), self.conversion_ms))
        return self.read_mv()
