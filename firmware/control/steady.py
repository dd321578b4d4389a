# pilotedge: has a reading settled enough to take a calibration point? (MIT)
#
# An electrode follows a change with a first-order lag tau_s (pH: 20-30 s new, slower aged,
# [S36]; "95 % in 30 s" is tau = 10 s, [S33]). Still short of its final value by e, a
# first-order reading moves at e / tau_s, so its residual error is tau_s times its drift
# rate, and a window of two tau shows it (docs/references.md §2.2).
#
# The window is `buckets` time-weighted means of tau_s / 2 each (the means average the noise
# away). Their spread over the time between the first and the last, times tau_s, is the
# drift-rate bound of the residual: for a first-order approach it overestimates the true
# residual about 3x, for a steady drift it is exact. The reading is steady once that bound
# is <= tol. With tol = 0.5 mV: a 140 mV step with tau = 10 s is accepted after ~6.7 tau
# with ~0.17 mV left. Calibration uses 0.2 mV: two points' residuals (approached from
# opposite sides) reach the offset at pH 7 about 2.3x, and it wants 1 mV; a reading drifting by
# tol / tau_s or faster never is. With tau_s = 30 s (an aged electrode) that drift limit is
# 1 mV/min, 0.05 pH in 3 minutes: the "drift < 0.05 pH over several minutes" rule [S35].
#
# The point taken is `value`, the mean of the last two buckets (tau_s of readings), not the
# last reading: one reading's noise (0.2 mV rms on the bench) reaches a two-point fit's
# offset about 2.6x, and made it miss 1 mV one time in twenty; the mean cuts that by
# sqrt(readings) and lags the approach by at most tol / 2.


class Steady:
    def __init__(self, tau_s, tol, buckets=4):
        self.tau_s = tau_s
        self.tol = tol
        self._means = [0.0] * buckets
        self.reset()

    def reset(self):
        # Call when the sensor is moved into a new standard.
        self._n = 0  # completed buckets, up to len(_means)
        self._sum = 0.0  # integral of the value over the current bucket
        self._t_s = 0.0
        self.residual = None  # bound on the distance to the final value, once known
        self.value = None  # the reading to take: the mean of the last two buckets

    def update(self, value, dt_s):
        # Feed one reading held for dt_s; True when steady.
        self._sum += value * dt_s
        self._t_s += dt_s
        means = self._means
        k = len(means)
        if self._t_s * 2 >= self.tau_s:
            for i in range(k - 1):
                means[i] = means[i + 1]
            means[k - 1] = self._sum / self._t_s
            self._sum = 0.0
            self._t_s = 0.0
            if self._n < k:
                self._n += 1
            if self._n == k:
                # spread / ((k - 1) * tau_s / 2) is the drift rate; times tau_s the residual.
                self.residual = (max(means) - min(means)) * 2 / (k - 1)
                self.value = (means[k - 1] + means[k - 2]) / 2
        return self.residual is not None and self.residual <= self.tol
