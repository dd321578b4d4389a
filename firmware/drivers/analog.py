# pilotedge: ratiometric analog sensors on an ADC: the pressure transducer and the NTC (MIT).
#
# Both are read as a ratio of signal to supply measured by the same ADC, which cancels
# supply drift (docs/references.md §4.5).
#
# Ratiometric pressure transducer: it outputs 10-90 % of its supply over its range
# [S81][S82]; an interface IC clamps at 4 % / 96 %, so below 4 % or above 96 % is
# open/short/diagnostic, 4-10 % is under-range and 90-96 % over-range [S81b].
#
# NTC thermistor in a divider, ratio -> degC (beta or Steinhart-Hart). ntc_side "low"
# (default): supply - R_series - node - NTC - ground, so R_ntc = R_s * r / (1 - r).
# "high": supply - NTC - node - R_series - ground, so R_ntc = R_s * (1 / r - 1) [S62a].

import math

from compat import const
from drivers import fault

_SUPPLY_MIN_MV = const(100.0)  # below this the reference itself has failed
_FAULT_LOW = const(0.04)
_SPAN_LOW = const(0.10)
_SPAN_HIGH = const(0.90)
_FAULT_HIGH = const(0.96)


def ratio(signal_mv, supply_mv):
    # signal / supply, or None when the supply measurement is missing or collapsed.
    if supply_mv is None or signal_mv is None or supply_mv < _SUPPLY_MIN_MV:
        return None
    return signal_mv / supply_mv


class Ratiometric:
    def __init__(self, range_lo, range_hi):
        # range_lo/range_hi: engineering value (e.g. bar) at 10 % and 90 % of supply.
        # value = range_lo + (r - _SPAN_LOW) * per_ratio, folded into r * per_ratio + offset
        # so that a reading takes two float operations (each allocates on most ports).
        self._per_ratio = (range_hi - range_lo) / (_SPAN_HIGH - _SPAN_LOW)
        self._offset = range_lo - _SPAN_LOW * self._per_ratio
        self.fault = fault.NONE

    def value(self, signal_mv, supply_mv):
        # Engineering value, or None with `fault` set. Under/over-range values are linear
        # extrapolations flagged UNDER_RANGE / OVER_RANGE (soft faults).
        r = ratio(signal_mv, supply_mv)
        code = self.fault = fault.band(r, _FAULT_LOW, _SPAN_LOW, _SPAN_HIGH, _FAULT_HIGH)
        if code == fault.SIGNAL:
            return None
        return r * self._per_ratio + self._offset


_T0_K = const(298.15)  # beta model reference temperature, 25 degC [S62c]
_KELVIN = const(273.15)
# A ratio this close to 0 or 1 is a shorted or open NTC (or lead): 1 % / 99 % is beyond
# -40 ... +150 degC for a 10 k / beta 3950 part on a 10 k series resistor.
_RATIO_MIN = const(0.01)
_RATIO_MAX = const(0.99)


class NTC:
    def __init__(self, r_series_ohm, r0_ohm=10000.0, beta_k=3950.0, sh=None, ntc_side="low"):
        # sh: optional Steinhart-Hart (a, b, c), 1/T = a + b ln R + c (ln R)^3 [S62]; when
        # given it replaces the beta model.
        if ntc_side not in ("low", "high"):
            raise ValueError("ntc_side")
        self._r_series_ohm = r_series_ohm
        # Beta model 1/T = 1/T0 + (ln R - ln R0) / beta [S62c], its constants folded here:
        # every float operation allocates on most ports, and this runs at 10 Hz per NTC.
        self._inv_beta = 1.0 / beta_k
        self._inv_t_0 = 1.0 / _T0_K - math.log(r0_ohm) / beta_k
        self._sh = sh
        self._low_side = ntc_side == "low"
        self.fault = fault.NONE

    def r_ohm(self, r):
        # Thermistor resistance at divider ratio r (0 < r < 1).
        if self._low_side:
            return self._r_series_ohm * r / (1.0 - r)
        return self._r_series_ohm * (1.0 / r - 1.0)

    def temp_c(self, node_mv, supply_mv):
        # Temperature in degC, or None with `fault` set.
        r = ratio(node_mv, supply_mv)
        if r is None:
            self.fault = fault.SIGNAL
            return None
        if r < _RATIO_MIN or r > _RATIO_MAX:
            # NTC resistance -> 0 pulls the ratio toward the NTC's own end of the divider.
            shorted = (r < _RATIO_MIN) == self._low_side
            self.fault = fault.SHORT if shorted else fault.OPEN
            return None
        ln_r = math.log(self.r_ohm(r))
        sh = self._sh
        if sh is None:
            inv_t = self._inv_t_0 + ln_r * self._inv_beta
        else:
            inv_t = sh[0] + sh[1] * ln_r + sh[2] * ln_r * ln_r * ln_r  # [S62]
        self.fault = fault.NONE
        return 1.0 / inv_t - _KELVIN
