# pilotedge: the true value behind a lagging sensor: first-order lag compensation (MIT).
#
# A thermometer clamped to a canister's shell follows it with a first-order lag tau (the
# board file's tau_s: 20 s for an NTC under a clamp): its reading y obeys tau dy/dt = x - y,
# so the shell is at x = y + tau dy/dt. The derivative is taken through a first-order filter
# of time constant tf (a rate term, not an observer): the estimate is y through the lead-lag
# (1 + tau s) / (1 + tf s), which follows the true value with the lag tf (2 s) instead of
# tau, at the price of amplifying the reading's noise up to tau / tf times. `rate` is the
# filtered derivative, smoothed again over _RATE_MS for predicting when a limit is reached.
#
# Ints: centi-degC in and out, the filter state in 1/16 of that (rounded both ways, so slow
# changes neither vanish nor bias it). Nothing allocates.

from compat import const

_SUB = const(16)  # filter state resolution: 1/16 centi-degC
_TF_MS = const(2000)
_RATE_MS = const(10000)
_HOLD_MS = const(2000)  # a reading unchanged this long is a new sample all the same
_MAX_DT_MS = const(20000)  # keeps the products small ints after a long gap


class Lead:
    def __init__(self, tau_ms):
        # gain16 = (tau - tf) / tf in 1/16: the lead only where the sensor lags more than tf.
        self._gain16 = max(0, (tau_ms - _TF_MS) * _SUB // _TF_MS)
        self.reset()

    def reset(self):
        self._f = None  # the reading through the tf filter, 1/16 centi-degC
        self._dt = 0  # ms since the last sample
        self.rate = 0  # centi-degC per minute
        self.value = None  # the estimate, centi-degC
        self.y = None  # the last reading

    def update(self, y, dt_ms):
        # A reading y (centi-degC) dt_ms after the last call; returns the estimate. A reading
        # equal to the last is no new sample (a DS18B20 between conversions) until _HOLD_MS.
        self._dt += dt_ms
        if y == self.y and self._dt < _HOLD_MS:
            return self.value
        dt_ms = min(self._dt, _MAX_DT_MS)
        self._dt = 0
        self.y = y
        y16 = y * _SUB
        f = self._f
        if f is None:
            f = y16
        else:
            f += _round_div((y16 - f) * dt_ms, _TF_MS + dt_ms)
        self._f = f
        d16 = y16 - f  # tf dy/dt
        # rate: dy/dt = d / tf, in centi-degC per minute, smoothed.
        raw = _round_div(d16 * 3750, _TF_MS)  # 60000 / 16 = 3750
        self.rate += _round_div((raw - self.rate) * dt_ms, _RATE_MS + dt_ms)
        self.value = y + _round_div(d16 * self._gain16, _SUB * _SUB)
        return self.value


def _round_div(a, b):
    # a / b rounded to the nearest int, halves away from zero (b > 0).
    return (a + b // 2) // b if a >= 0 else -((b // 2 - a) // b)
