# pilotedge: sensors whose output is linear in what they measure, not referred to a supply:
# 4-20 mA transmitters and voltage-output meters (MIT).
#
# 4-20 mA (NAMUR NE43, docs/references.md §4.5 [S80]): the loop current through a shunt,
# read as mV / ohm = mA. 4 and 20 mA are the ends of the range; 3.8-20.5 mA is the measuring
# band, so 3.8-4 mA is under-range and 20-20.5 mA over-range (soft faults); below 3.6 mA
# (open loop, dead transmitter) or above 21 mA (short, transmitter fault signal) is a device
# fault, never a value. 3.6-3.8 and 20.5-21 mA are read as under/over-range too.
#
# Voltage output (a thermal mass-flow meter's 0-5 V, divided for the ADC): the value is linear
# between the output's two ends. Its output cannot leave that span, so a reading within
# 1 % of either end or beyond (a wire open to 0 V, a short to the rail, a meter pinned at
# full scale) is a fault: the meter's range must cover what it can see.
#
# Both return the value or None with `fault` set, like every driver (drivers/fault.py); a
# read takes a few float operations.

from compat import const
from drivers import fault

_FAULT_LOW_MA = const(3.6)
_BAND_LOW_MA = const(4.0)
_BAND_HIGH_MA = const(20.0)
_FAULT_HIGH_MA = const(21.0)
_RAIL_SHARE = const(0.01)


class Current420:
    def __init__(self, shunt_ohm, range_lo, range_hi):
        # range_lo/range_hi: the value at 4 and 20 mA; folded into value = mv * k + offset.
        per_ma = (range_hi - range_lo) / (_BAND_HIGH_MA - _BAND_LOW_MA)
        self._per_mv = per_ma / shunt_ohm
        self._offset = range_lo - _BAND_LOW_MA * per_ma
        self._shunt_ohm = shunt_ohm
        self.fault = fault.NONE

    def value(self, signal_mv, _supply_mv=None):
        ma = None if signal_mv is None else signal_mv / self._shunt_ohm
        code = self.fault = fault.band(ma, _FAULT_LOW_MA, _BAND_LOW_MA, _BAND_HIGH_MA,
                                       _FAULT_HIGH_MA)
        if code == fault.SIGNAL:
            return None
        return signal_mv * self._per_mv + self._offset


class Linear:
    def __init__(self, lo_mv, hi_mv, value_lo, value_hi):
        # value_lo at lo_mv, value_hi at hi_mv (the ADC side of the output's two ends).
        self._per_mv = (value_hi - value_lo) / (hi_mv - lo_mv)
        self._offset = value_lo - lo_mv * self._per_mv
        rail = (hi_mv - lo_mv) * _RAIL_SHARE
        self._min_mv = min(lo_mv, hi_mv) + abs(rail)
        self._max_mv = max(lo_mv, hi_mv) - abs(rail)
        self.fault = fault.NONE

    def value(self, signal_mv, _supply_mv=None):
        if signal_mv is None or not self._min_mv < signal_mv < self._max_mv:
            self.fault = fault.SIGNAL
            return None
        self.fault = fault.NONE
        return signal_mv * self._per_mv + self._offset
