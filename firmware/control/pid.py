# pilotedge: PID controller with a clamped output and anti-windup (MIT).
#
# Pure and clock-free: the caller passes dt_s, so the same object runs on a board, on the
# bench faster than real time and in CPython tests. Anti-windup is conditional integration:
# the integral does not grow while the output is saturated in the error's direction, and it
# never leaves the output range, so a long saturation (heater warming a cold vessel) ends
# without overshoot from a wound-up integral.


class PID:
    def __init__(self, kp, ki, kd=0.0, out_min=0.0, out_max=100.0):
        self.kp = kp
        self.ki = ki  # output units per (error unit * s)
        self.kd = kd  # output units per (error unit / s); acts on the measurement
        self.out_min = out_min
        self.out_max = out_max
        self.integral = 0.0  # in output units
        self._last_pv = None

    def set_limits(self, out_min, out_max):
        self.out_min = out_min
        self.out_max = out_max
        self.integral = min(max(self.integral, out_min), out_max)

    def reset(self):
        # Forget history: used when the loop (re)enters AUTO so it starts bumpless from 0.
        self.integral = 0.0
        self._last_pv = None

    def update(self, pv, sp, dt_s):
        err = sp - pv
        lo = self.out_min
        hi = self.out_max
        d = 0.0
        # Derivative on the measurement, not the error: a set-point step gives no kick.
        if self.kd and self._last_pv is not None and dt_s > 0:
            d = -self.kd * (pv - self._last_pv) / dt_s
        self._last_pv = pv
        p = self.kp * err
        i = self.integral + self.ki * err * dt_s
        out = p + i + d
        if (out > hi and err > 0) or (out < lo and err < 0):
            i = self.integral
            out = p + i + d
        self.integral = min(max(i, lo), hi)
        return min(max(out, lo), hi)
