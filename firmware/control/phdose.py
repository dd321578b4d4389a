# pilotedge: demand-sized pH dosing with the vessel's buffer capacity learned on line (MIT).
#
# The broth's pH moves by -u / (beta V) for u eq of acid mixed in (base: u < 0) plus a
# drift from the process (carbonate consumes acid, pyrite makes it), docs/control.md. Every
# period_s the estimator compares the pH change over the period with the doses fed, and a
# two-parameter recursive least squares (forgetting 0.95) learns a = 1/(beta V) and the
# drift rate b in pH/s: dpH = -a u + b T. It starts from the configured buffer capacity.
# Whenever no pump runs, a dose is sized to the demand (a PI on dose rate): kp of the error
# times beta V, plus what the drift will take over the next period; it is capped by the
# per-dose cap (the vessel's doses) and the drift estimate cannot wind beyond what the
# pumps can deliver (anti-windup). Under _MIN_UL of reagent it waits instead (no chatter).
#
# expect(): the share of what the pumps fed that should move the pH (what goes beyond the
# estimated demand), for the no-response check: a dose that only holds the pH against a
# steady demand is not expected to move it.

from compat import const

_KP = 0.6  # of the error removed per dose: below 1, beta may be half its learned value
_LAMBDA = 0.95  # RLS forgetting per period (20 periods of memory)
_P0_A = 0.25  # prior variance of a, relative to a^2 (a trusted to about +-50 %)
_P0_B = 1e-8  # prior variance of b, (pH/s)^2
_R = 1e-5  # variance of a period's pH change the model does not explain (noise, lags), pH^2
_DEADBAND = 0.02  # pH: within it only the drift is dosed (noise would alternate acid and base)
_EXCITED = 0.004  # pH: a period's doses must move the pH this much to teach the buffer capacity
_CHASE = 0.1  # pH: further from the set point, doses follow back to back (a start-up load)
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
        self.p = [_P0_A * self.a * self.a, 0.0, 0.0, _P0_B]

    def reset(self):
        # Forget the drift (a new mode, a calibration); the buffer capacity stays learned.
        self.b = 0.0  # drift, pH/s (> 0: the pH rises, acid is needed)
        self._t_ms = 0
        self._ph0 = None
        self._due = False  # a period has ended: time to size a dose
        self._more = True  # far from the set point: the next dose follows at once
        self._u = 0.0  # eq fed this period, acid > 0
        self._sum = 0.0
        self._n = 0
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
        self._sum += ph
        self._n += 1
        if self._n >= _AVG_N:
            self.ph = self._sum / self._n
            self._sum = 0.0
            self._n = 0
        self._t_ms += dt_ms
        if self.ph is None:
            return 0
        if self._t_ms >= self.period_ms:
            self._learn(self.ph)
            self._due = True
        if not idle or not (self._due or self._more):
            return 0
        self._due = False
        # Error removed by kp, the drift of the next period covered (eq, acid > 0).
        e = self.ph - sp
        e = e - _DEADBAND if e > _DEADBAND else e + _DEADBAND if e < -_DEADBAND else 0.0
        need = (_KP * e + self.b * self.period_ms / 1000) / self.a
        ul = int(need / (self.acid_n if need > 0 else self.base_n) * 1000000)
        self._more = e > _CHASE or e < -_CHASE
        if ul > cap_ul or ul < -cap_ul:
            return cap_ul if ul > 0 else -cap_ul
        return ul if ul >= _MIN_UL or ul <= -_MIN_UL else 0

    def _learn(self, ph):
        t_s = self._t_ms / 1000
        u = self._u
        ph0 = self._ph0
        self._ph0 = ph
        self._t_ms = 0
        self._u = 0.0
        if ph0 is None:
            return
        # RLS on y = phi . theta, phi = (-u, t_s), theta = (a, b); a only learns from
        # doses that moved the pH beyond the noise (holding doses alone would let it wander
        # along b, which they cannot tell apart from it).
        y = ph - ph0
        p = self.p
        f0 = -u if self.a * abs(u) >= _EXCITED else 0.0
        f1 = t_s
        q0 = p[0] * f0 + p[1] * f1
        q1 = p[2] * f0 + p[3] * f1
        den = _R + f0 * q0 + f1 * q1
        err = y - self.a * f0 - self.b * f1
        k0 = q0 / den
        k1 = q1 / den
        self.a = min(max(self.a + k0 * err, self.a_min), self.a_max)
        lim = self.max_b * self.a  # anti-windup: no more drift than the pumps can hold
        self.b = min(max(self.b + k1 * err, -lim), lim)
        cap = _P0_A * self.a * self.a  # keep the covariance bounded while nothing excites it
        p0 = min((p[0] - k0 * q0) / _LAMBDA, cap)
        p1 = (p[1] - k0 * q1) / _LAMBDA
        p3 = min((p[3] - k1 * q1) / _LAMBDA, _P0_B)
        r = (p0 * p3) ** 0.5 * 0.99  # and positive definite after the caps
        p1 = min(max(p1, -r), r)
        self.p = [p0, p1, p1, p3]


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
