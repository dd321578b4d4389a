# pilotedge: MAX31865 RTD-to-digital converter (PT100/PT1000) over injected SPI + CS (MIT).
#
# Non-blocking use: start() triggers a 1-shot conversion, the scheduler waits conversion_ms,
# read_c() returns degC or None with `fault` set (drivers/fault.py). Registers and fault bits
# from the MAX31865 datasheet [S58]; the bus must be SPI mode 1 or 3 (set in the board file).
#
# VBIAS stays on between conversions so that one reading is one start/read pair like the
# other sensors: with the usual 430 ohm reference the PT100 dissipates about 1.5 mW, which a
# stirred liquid carries away. The datasheet asks for the bias to settle before a 1-shot.

import math
import struct

from compat import const
from drivers import fault

_REG_CONFIG = const(0x00)
_REG_RTD = const(0x01)  # MSB, LSB; LSB bit 0 = fault flag
_REG_HIGH_THRESHOLD = const(0x03)  # MSB, LSB, then the low threshold MSB, LSB
_REG_FAULT = const(0x07)
_WRITE = const(0x80)
_VBIAS = const(0x80)
_ONE_SHOT = const(0x20)
_THREE_WIRE = const(0x10)
_FAULT_CLEAR = const(0x02)
_FILTER_50HZ = const(0x01)
# Fault status bits: RTD above the high / below the low threshold; REFIN- or RTDIN- outside
# its window (a broken force or sense lead); over/under voltage at the inputs [S58].
_FAULT_HIGH = const(0x80)
_FAULT_LOW = const(0x40)
_FAULT_LEADS = const(0x38)
_FAULT_VOLTAGE = const(0x04)

# Callendar-Van Dusen coefficients, IEC 60751 [S59][S60]; C applies below 0 degC only.
_CVD_A = const(3.9083e-3)
_CVD_B = const(-5.775e-7)
_CVD_C = const(-4.183e-12)
_T_MIN_C = const(-200.0)  # CVD validity range [S59][S60]
_T_MAX_C = const(850.0)


def cvd_r_ohm(t_c, r0_ohm):
    # Resistance of a platinum RTD at t_c (IEC 60751).
    r = 1.0 + _CVD_A * t_c + _CVD_B * t_c * t_c
    if t_c < 0.0:
        r += _CVD_C * (t_c - 100.0) * t_c * t_c * t_c
    return r0_ohm * r


def cvd_t_c(r_ohm, r0_ohm):
    # Inverse of cvd_r_ohm for r_ohm within [R(_T_MIN_C), R(_T_MAX_C)]: the quadratic root is
    # exact for t >= 0; below 0 degC Newton steps add the C term (three reach < 1e-6 K).
    t_c = (-_CVD_A + math.sqrt(_CVD_A * _CVD_A - 4.0 * _CVD_B * (1.0 - r_ohm / r0_ohm))) / (
        2.0 * _CVD_B
    )
    if t_c < 0.0:
        for _ in range(3):
            dr_dt = _CVD_A + 2.0 * _CVD_B * t_c + _CVD_C * (4.0 * t_c - 300.0) * t_c * t_c
            slope = r0_ohm * dr_dt
            t_c -= (cvd_r_ohm(t_c, r0_ohm) - r_ohm) / slope
    return t_c


class MAX31865(fault.StartReadThermometer):
    def __init__(self, spi, cs, r_ref_ohm=430.0, r0_ohm=100.0, wires=2, filter_hz=50):
        if wires not in (2, 3, 4) or filter_hz not in (50, 60):
            raise ValueError("max31865 wires/filter_hz")
        self._spi = spi
        self._cs = cs
        self._r_ref_ohm = r_ref_ohm
        self._r0_ohm = r0_ohm
        self._r_min_ohm = cvd_r_ohm(_T_MIN_C, r0_ohm)
        self._r_max_ohm = cvd_r_ohm(_T_MAX_C, r0_ohm)
        self._config = _VBIAS | (_THREE_WIRE if wires == 3 else 0)
        self._config |= _FILTER_50HZ if filter_hz == 50 else 0
        # 1-shot conversion: 62.5 ms (50 Hz) / 52 ms (60 Hz) [S58], Adafruit waits 65 ms [S59].
        self.conversion_ms = 65 if filter_hz == 50 else 55
        # Reused by every transfer: a register write, and a 2-register read (tx = address +
        # don't-care bytes, rx = what came back).
        self._wbuf = bytearray(2)
        self._tx = bytearray(b"\x00\xff\xff")
        self._rx = bytearray(3)
        self._started = False
        self.fault = fault.NONE
        cs.value(1)
        # Fault thresholds at the ends of the CVD range, so an open RTD (ratio -> 1) or a
        # shorted one (ratio -> 0) sets a latched fault bit instead of a wild reading.
        thresholds = bytearray(5)
        thresholds[0] = _WRITE | _REG_HIGH_THRESHOLD
        high = self._threshold(self._r_max_ohm)
        struct.pack_into(">HH", thresholds, 1, high, self._threshold(self._r_min_ohm))
        try:
            self._write(thresholds)
            self._write_config(_FAULT_CLEAR)
        except OSError:
            self.fault = fault.BUS

    def _threshold(self, r_ohm):
        # Threshold register value: the 15-bit ratio R / R_REF, left-aligned [S58].
        return min(int(r_ohm / self._r_ref_ohm * 32768), 0x7FFF) << 1

    def _write(self, buf):
        self._cs.value(0)
        try:
            self._spi.write(buf)
        finally:
            self._cs.value(1)

    def _write_config(self, extra):
        self._wbuf[0] = _WRITE | _REG_CONFIG
        self._wbuf[1] = self._config | extra
        self._write(self._wbuf)

    def _read2(self, reg):
        # Read registers reg and reg + 1 into self._rx[1:3].
        self._tx[0] = reg
        self._cs.value(0)
        try:
            self._spi.write_readinto(self._tx, self._rx)
        finally:
            self._cs.value(1)

    def _start(self):
        self._write_config(_ONE_SHOT)
        return True

    def _read(self):
        self._read2(_REG_RTD)
        code = self._rx[1] << 8 | self._rx[2]
        if code & 1:
            self._read2(_REG_FAULT)
            self.fault = self._fault_code(self._rx[1])
            self._write_config(_FAULT_CLEAR)  # status bits latch until cleared [S58]
            return None
        code >>= 1  # 15-bit ratio R_RTD / R_REF
        # A shorted RTD trips the low threshold and sets the flag, so 0 without it is MISO
        # stuck low.
        if code == 0:
            self.fault = fault.BUS
            return None
        r_ohm = code * self._r_ref_ohm / 32768
        if not self._r_min_ohm <= r_ohm <= self._r_max_ohm:
            self.fault = fault.RANGE
            return None
        self.fault = fault.NONE
        return cvd_t_c(r_ohm, self._r0_ohm)

    @staticmethod
    def _fault_code(status):
        if status & (_FAULT_HIGH | _FAULT_LEADS):
            return fault.OPEN
        if status & (_FAULT_LOW | _FAULT_VOLTAGE):
            return fault.SHORT
        return fault.BUS  # fault flag set but no status bit: treat as a bus glitch
