# pilotedge: the true value behind a lagging sensor: first-order lag compensation (MIT).
#
# A thermometer clamped to a canister's shell follows it with a first-order lag tau (the
# board file's tau_s: 20 s for an NTC under a clamp): its reading y obeys tau dy/dt = x - y,
# so the shell is at x = y + tau dy/dt. The reading goes through two first-order filters of
# time constant tf in series (f1, then f2): the estimate f2 + tau (f1 - f2) / tf is y through
# (1 + tau s) / (1 + tf s)^2 (a rate term, not an observer), which follows the true value
# with the lag 2 tf (3 s) instead of tau. The second filter is what keeps the reading's
# noise from being amplified tau / tf times at high frequencies, as a single lead-lag does
# (a noisy estimate near its limit trips seconds early through the tiers' debounce). `rate`
# is the filtered derivative (f1 - f2) / tf, smoothed again over _RATE_MS for predicting
# when a limit is reached.
#
# Ints: centi-degC in and out, the filter states in 1/16 of that (rounded both ways, so slow
# changes neither vanish nor bias them). Nothing allocates.

from compat import const

_SUB = const(16)  # filter state resolution: 1/16 centi-degC
_TF_MS = const(1500)
_RATE_MS = const(10000)
_HOLD_MS = const(2000)  # a reading unchanged this long is a new sample all the same
_MAX_DT_MS = const(20000)  # keeps the products small ints after a long gap


class Lead:
    def __init__(self, tau_ms):
        # gain16 = tau / tf in 1/16: the lead only where the sensor lags more than 2 tf.
        self._gain16 = tau_ms * _SUB // _TF_MS if tau_ms > 2 * _TF_MS else 0
        self.reset()

    def reset(self):
        self._f1 = self._f2 = None  # the reading through one and two tf filters, 1/16 cC
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
        f1, f2 = self._f1, self._f2
        if f1 is None:
            f1 = f2 = y16
        else:
            f1 += _round_div((y16 - f1) * dt_ms, _TF_MS + dt_ms)
            f2 += _round_div((f1 - f2) * dt_ms, _TF_MS + dt_ms)
        self._f1, self._f2 = f1, f2
        d16 = f1 - f2  # tf dy/dt, filtered
        # rate: dy/dt = d / tf, in centi-degC per minute, smoothed.
        raw = _round_div(d16 * (60000 // _SUB), _TF_MS)
        self.rate += _round_div((raw - self.rate) * dt_ms, _RATE_MS + dt_ms)
        if self._gain16:
            self.value = _round_div(f2 + _round_div(d16 * self._gain16, _SUB), _SUB)
        else:
            self.value = y
        return self.value


def _round_div(a, b):
    # a / b rounded to the nearest int, halves away from zero (b > 0).
    return (a + b // 2) // b if a >= 0 else -((b // 2 - a) // b)
