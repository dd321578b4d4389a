# pilotedge: demand-sized pH dosing with the vessel's buffer capacity learned on line (MIT).
#
# The broth's pH moves by -u / (beta V) for u eq of acid mixed in (base: u < 0) plus a
# drift from the process (carbonate consumes acid, pyrite makes it), docs/control.md. Every
# period_s the estimator compares the pH's rate over the period with the dose rate: the
# model r = -a w + b, a = 1/(beta V) pH per eq, b the drift in pH/s. a is learned from how
# the pH's rate answered a change of the dose rate (the drift cancels out), starting from
# the configured buffer capacity, within 4x of it; b is what the doses do not explain.
# Whenever no pump runs and a period has passed, a dose is sized to the demand (a PI on dose
# rate): kp of the error beyond a deadband times beta V, plus what the drift will take over
# the next period once the drift stands out of its estimate's noise (a rate from a noisy
# electrode over one period can be many times a slow process's: fed as it comes, it would
# dose acid and base by turns, each spent twice); it is capped by the per-dose cap (the
# vessel's doses) and the drift estimate cannot wind beyond what the pumps can deliver
# (anti-windup). A dose the cap cut short is followed by the next as soon as the pumps may
# run (then the pumps, not the period, set the pace: a start-up load is followed as fast
# as the caps allow). Under _MIN_UL of reagent it waits instead (no chatter).
#
# expect(): the share of what the pumps fed that should move the pH (what goes beyond the
# estimated demand), for the no-response check: a dose that only holds the pH against a
# steady demand is not expected to move it.

from compat import const

_KP = 0.6  # of the error removed per dose: below 1, beta may be half its learned value
_PRIOR_PH = 0.005
_TEACH_PH = 0.002
_FORGET = 0.99  # per change that teaches
_GAIN_B = 0.1  # of a period's unexplained rate taken into b (10 periods: 10 min)
_VAR_B = _GAIN_B / (2 - _GAIN_B)  # b's variance per unit of its input's (the filter's)
_Z2 = 4.0  # the drift is dosed once beyond two standard deviations of b's noise
_DEADBAND = 0.02  # pH: within it only the drift is dosed (noise would alternate acid and base)
_MIN_UL = const(200)
_AVG_N = const(8)  # pH samples averaged per reading (electrode noise)


class DemandDoser:
    def __init__(self, volume_l, beta, acid_n, base_n, period_s, max_eq_per_s):
        # beta mol/L/pH (the configured start), reagents in eq/L, max_eq_per_s: the fastest
        # either pump can deliver within its duty cap.
        self.volume_l = volume_l
        self.acid_n = acid_n
        self.base_n = base_n
        self.period_ms = int(period_s * 1000)
        self.max_b = max_eq_per_s  # in eq/s until the first estimate scales it
        self.set_beta(beta)
        self.reset()

    def set_beta(self, beta):
        self.a = 1.0 / (beta * self.volume_l)  # pH per eq
        self.a_min = self.a / 4
        self.a_max = self.a * 4
        self._s = 0.0

    def reset(self):
        # Forget the drift (a new mode, a calibration); the buffer capacity stays learned.
        self.b = 0.0  # drift, pH/s (> 0: the pH rises, acid is needed)
        self._t_ms = 0
        self._ph0 = None
        self._due = False  # a period has ended: time to size a dose
        self._more = True  # the last dose was capped: the next follows at once
        self._u = 0.0  # eq fed this period, acid > 0
        self._r1 = None  # the last period's pH rate and dose rate, and the one's before
        self._w1 = 0.0
        self._hist = (None, 0.0)
        self._sum = 0.0
        self._n = 0
        self._var = 0.0  # the variance of what updates b, (pH/s)^2
        self.ph = None  # the averaged reading

    def beta(self):
        return 1.0 / (self.a * self.volume_l)

    def fed(self, acid_ul, base_ul):
        # What the pumps delivered since the last call.
        self._u += (acid_ul * self.acid_n - base_ul * self.base_n) / 1000000

    def expect(self, ul, n, dt_ms):
        # Of ul of a reagent fed in dt_ms (n eq/L, > 0 acid), what the drift does not take.
        held = self.b * dt_ms / 1000 / (self.a * n) * 1000000
        return max(0, ul - int(held)) if held > 0 else ul

    def update(self, ph, sp, dt_ms, idle, cap_ul):
        # Signed uL to dose now (> 0 acid, < 0 base, 0 none), at most cap_ul; idle: no pump
        # runs and a dose could start.
        self._t_ms += dt_ms
        self._sum += ph
        self._n += 1
        if self.ph is None:  # the first reading at once: a handover doses without waiting
            self.ph = self._ph0 = ph  # the first period starts here
            self._t_ms = 0
            self._u = 0.0
        elif self._n >= _AVG_N:
            self.ph = self._sum / self._n
            self._sum = 0.0
            self._n = 0
        if self._t_ms >= self.period_ms:
            self._learn(self.ph)
            self._due = True
        if not idle or not (self._due or self._more):
            return 0
        self._due = False
        # Error removed by kp (none within the deadband: the pH stays where the doses put
        # it), the drift of the next period covered (eq, acid > 0).
        e = self.ph - sp
        if -_DEADBAND <= e <= _DEADBAND:
            e = 0.0
        b = self.b
        if b * b < _Z2 * _VAR_B * self._var:
            b = 0.0  # not told from the noise yet: the error term holds the pH meanwhile
        need = (_KP * e + b * self.period_ms / 1000) / self.a
        ul = round(need / (self.acid_n if need > 0 else self.base_n) * 1000000)
        self._more = ul > cap_ul or ul < -cap_ul
        if self._more:
            return cap_ul if ul > 0 else -cap_ul
        return ul if ul >= _MIN_UL or ul <= -_MIN_UL else 0

    def _learn(self, ph):
        # Rates over the period: r pH/s, w eq/s; the model r = -a w + b.
        t_s = self._t_ms / 1000
        r = (ph - self._ph0) / t_s
        w = self._u / t_s
        self._ph0 = ph
        self._t_ms = 0
        self._u = 0.0
        # a from how the rate answered a change of the dose rate since two periods ago (the
        # mixing and the electrode spread an answer over two): the drift cancels out.
        r2, w2 = self._hist
        self._hist = (self._r1, self._w1)
        self._r1 = r
        self._w1 = w
        # Least squares of -(r - r2) on dw, forgetting, weighted by dw^2, from the changes
        # that move the pH beyond the noise (a dose's start and end; the small doses that
        # hold the pH answer the noise they were dosed against: they would teach a bias).
        # The prior weighs as one change that moved the pH by _PRIOR_PH within a period.
        dw = w - w2
        if r2 is not None and self.a * abs(dw) * t_s >= _TEACH_PH:
            s0 = (_PRIOR_PH / (self.a * t_s)) ** 2
            s = max(self._s * _FORGET, s0) + dw * dw
            self._s = s
            a = self.a + dw * (-(r - r2) - self.a * dw) / s
            self.a = min(max(a, self.a_min), self.a_max)
        # b: what the doses do not explain, filtered; the spread of what updates it.
        lim = self.max_b * self.a  # anti-windup: no more drift than the pumps can hold
        d = r + self.a * w - self.b
        self._var += _GAIN_B * (d * d - self._var)
        b = self.b + _GAIN_B * d
        self.b = min(max(b, -lim), lim)


def onoff(ph, sp, band, dosing):
    # The baseline on/off policy with hysteresis: acid on above sp + band until the pH is
    # back at sp, base below sp - band likewise. dosing: > 0 acid on, < 0 base on, 0 off.
    # Returns the new state.
    if dosing > 0:
        return 1 if ph > sp else 0
    if dosing < 0:
        return -1 if ph < sp else 0
    if ph > sp + band:
        return 1
    return -1 if ph < sp - band else 0
