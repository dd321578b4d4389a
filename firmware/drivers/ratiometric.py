# pilotedge: ratiometric pressure transducer, and the supply ratio it shares with the NTC (MIT).
#
# The transducer outputs 10-90 % of its supply over its range [S81][S82]; an interface IC
# clamps at 4 % / 96 %, so below 4 % or above 96 % is open/short/diagnostic, 4-10 % is
# under-range and 90-96 % over-range [S81b]. Measuring the supply with the same ADC and using
# the ratio cancels supply drift (domain-facts 4.5).

from drivers import fault

SUPPLY_MIN_MV = 100.0  # below this the reference itself has failed
FAULT_LOW = 0.04
SPAN_LOW = 0.10
SPAN_HIGH = 0.90
FAULT_HIGH = 0.96


def ratio(signal_mv, supply_mv):
    # signal / supply, or None when the supply measurement is missing or collapsed.
    if supply_mv is None or signal_mv is None or supply_mv < SUPPLY_MIN_MV:
        return None
    return signal_mv / supply_mv


class Ratiometric:
    def __init__(self, range_lo, range_hi):
        # range_lo/range_hi: engineering value (e.g. bar) at 10 % and 90 % of supply.
        # value = range_lo + (r - SPAN_LOW) * per_ratio, folded into r * per_ratio + offset
        # so that a reading takes two float operations (each allocates on most ports).
        self._per_ratio = (range_hi - range_lo) / (SPAN_HIGH - SPAN_LOW)
        self._offset = range_lo - SPAN_LOW * self._per_ratio
        self.fault = fault.NONE

    def value(self, signal_mv, supply_mv):
        # Engineering value, or None with `fault` set. Under/over-range values are linear
        # extrapolations flagged UNDER_RANGE / OVER_RANGE (soft faults).
        r = ratio(signal_mv, supply_mv)
        if r is None or not FAULT_LOW <= r <= FAULT_HIGH:
            self.fault = fault.SIGNAL
            return None
        if r < SPAN_LOW:
            self.fault = fault.UNDER_RANGE
        elif r > SPAN_HIGH:
            self.fault = fault.OVER_RANGE
        else:
            self.fault = fault.NONE
        return r * self._per_ratio + self._offset
