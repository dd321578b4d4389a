# pilotedge: fault codes shared by every sensor driver, and the start/read thermometer (MIT).
#
# Contract: a driver's read returns a value, or None with `fault` set to a hard fault
# (BUS ... RANGE). It never raises for a sensor or bus fault. UNDER_RANGE and OVER_RANGE are
# soft: the value is returned (extrapolated past the calibrated span) and `fault` says why
# it is suspect. NONE means a good value.

from compat import const

NONE = const(0)
BUS = const(1)  # no answer: I2C NACK/OSError, no 1-Wire presence pulse, SPI stuck
CRC = const(2)  # data corrupted on the wire
NOT_READY = const(3)  # read without a start, or the device lost its setup since the start
RESET_VALUE = const(4)  # DS18B20 85.00 degC power-on value [S55]
CONVERSION = const(5)  # device reported a failed conversion (DS18B20 127.94 degC [S55])
OPEN = const(6)  # open circuit
SHORT = const(7)  # short circuit or over/under voltage at the input
SIGNAL = const(8)  # signal in a diagnostic band: ratiometric < 4 % or > 96 % [S81b]
RANGE = const(9)  # value outside the sensor's physical range
UNDER_RANGE = const(10)  # soft: below the calibrated span, value still returned
OVER_RANGE = const(11)  # soft: above the calibrated span, value still returned


def is_hard(code):
    # True when a read with this fault returned no value.
    return NONE < code < UNDER_RANGE


def band(x, fault_lo, span_lo, span_hi, fault_hi):
    # The code of a signal x (None: no signal) with a measuring span and diagnostic bands
    # beyond it: SIGNAL outside fault_lo ... fault_hi, soft UNDER/OVER_RANGE outside the span.
    if x is None or not fault_lo <= x <= fault_hi:
        return SIGNAL
    if x < span_lo:
        return UNDER_RANGE
    if x > span_hi:
        return OVER_RANGE
    return NONE


class StartReadThermometer:
    # A thermometer read in two steps (DS18B20, MAX31865): start() begins a conversion and
    # read_c(), one conversion_ms later, returns degC or None with `fault` set. This class
    # keeps the bookkeeping (a read without a start, a bus that raises); a subclass gives
    # _start() (False when the device did not answer, `fault` set) and _read() (degC or
    # None with `fault` set), either of which may raise OSError for a bus fault.

    def start(self):
        self._started = False
        try:
            if not self._start():
                return
        except OSError:  # a bit-banged or simulated bus may raise on a stuck line
            self.fault = BUS
            return
        self._started = True
        self.fault = NONE

    def read_c(self):
        if not self._started:
            if self.fault == NONE:
                self.fault = NOT_READY
            return None
        self._started = False
        try:
            return self._read()
        except OSError:
            self.fault = BUS
            return None

    def _start(self):
        raise NotImplementedError

    def _read(self):
        raise NotImplementedError
