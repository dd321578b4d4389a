# pilotedge: a leak from an isolated hydride canister, found by the signatures its physics
# leaves (MIT).
#
# With nothing metered in or out, gas that leaves has to come from the bed, so (docs/
# references.md §4.1, §4.4):
#
# - desorption cools the alloy by dH = 30.8 kJ per mol (1374 J per NL) [S64]: the shell ends
#   up colder than the room explains. The heat balance C dT/dt = UA (T_amb - T) + Q leaves
#   Q, the unexplained heat; its trend over the window, as NL/h at 1374 J/NL, is the
#   `thermal` estimate (C and UA from the board file);
# - the pressure follows the desorption branch down: x_des(P, T) (control/hydride.py) falls
#   at the leak's rate, which is the `pct` estimate. Without a leak x_des never falls while
#   the shell cools or holds (the bed then sits on a branch or inside its hysteresis loop,
#   where the pressure follows the gas law and x_des rises), but it does while it warms
#   inside the loop: the estimate counts only when the shell did not warm over the window.
# The third signature, counted inventory against P and T at the ends of the isotherm, is
# control/soc.py's `deficit`.
#
# `rate` (percent of capacity per hour, + = loss) is the thermal estimate where the pressure
# cannot judge, and the smaller of the two where it can: a leak shows in both (a rising
# x_des counts as no loss: a leak would hold the pressure on the desorption branch).
# Estimates are least-squares slopes over the last _N minutes of minute means (the sensors'
# noise averaged over the minute); the window restarts whenever the canister stops being
# isolated (the unit calls reset()). Samples are kept as ints (J, 1e-5 of soc, mK), the
# slopes are taken in floats once a minute.

from compat import const
from control.hydride import DES

_N = const(20)  # samples in the window, one a minute
_J_PER_NL = const(1374.0)  # desorption heat per normal litre: 30.8 kJ/mol / 22.414 NL/mol


class Leak:
    def __init__(self, pct, heat_j_per_k, ua_w_per_k, capacity_nl, tau_s=0.0):
        # tau_s: the shell sensor's lag, taken out of its minute means (its reading trails
        # a cooling shell by tau x rate, which would bend x_des as the rate changes).
        self._pct = pct
        self._c = heat_j_per_k
        self._ua = ua_w_per_k
        self.capacity_nl = capacity_nl
        self._tau_s = tau_s
        self._q = [0] * _N  # unexplained heat so far, J
        self._x = [0] * _N  # x_des, 1e-5
        self._t = [0] * _N  # shell temperature, mK
        self.reset()

    def reset(self):
        self._n = 0  # samples in the window
        self._i = 0  # where the next goes
        self._heat_in = 0.0  # J from the room since the window started
        self._s = 0  # seconds into this minute
        self._t_sum = self._p_sum = 0.0
        self._t_last = None  # the last minute's mean shell temperature
        self.thermal = None
        self.pct = None
        self.rate = None

    def update(self, t_c, ambient_c, p_bar, dt_s):
        # Once a second while isolated: shell and ambient degC (ambient None: no room
        # sensor, no thermal estimate), pressure in bar.
        if ambient_c is not None:
            self._heat_in += self._ua * (ambient_c - t_c) * dt_s
        self._t_sum += t_c
        self._p_sum += p_bar
        self._s += 1
        if self._s < 60:
            return
        t_c = mean = self._t_sum / 60
        p_bar = self._p_sum / 60
        if self._t_last is not None:
            t_c += self._tau_s * (mean - self._t_last) / 60
        self._t_last = mean
        self._s = 0
        self._t_sum = self._p_sum = 0.0
        i = self._i
        self._q[i] = int(self._c * t_c - self._heat_in)
        self._x[i] = int(self._pct.soc(DES, p_bar, t_c) * 100000)
        self._t[i] = int(t_c * 1000)
        self._i = (i + 1) % _N
        if self._n < _N:
            self._n += 1
            if self._n < _N:
                return
        per_h = 6000.0 / self.capacity_nl  # NL per minute -> percent of capacity per hour
        self.thermal = None
        if ambient_c is not None:
            self.thermal = -self._slope(self._q) / _J_PER_NL * per_h
        self.pct = None
        if self._slope(self._t) <= 0:
            self.pct = -self._slope(self._x) * 0.06  # 1e-5 per minute -> percent per hour
        pct = self.pct
        if pct is not None and pct < 0.0:
            pct = 0.0  # x_des rising: the bed sits in its loop, which no leak allows
        if self.thermal is None:
            self.rate = pct
        elif pct is None:
            self.rate = self.thermal
        else:
            self.rate = min(self.thermal, pct)

    def _slope(self, ring):
        # Least-squares slope of the window, per sample (oldest at _i).
        n = _N
        mid = (n - 1) / 2
        mean = sum(ring) / n
        num = 0.0
        i = self._i
        for k in range(n):
            num += (k - mid) * (ring[(i + k) % n] - mean)
        return num * 12 / (n * (n * n - 1))
