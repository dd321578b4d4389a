# pilotedge: a set point that ramps from where the process is, for a heat-up without
# overshoot (MIT).
#
# A PI that chases a set-point step from far away saturates and overshoots by what the lags
# still hold when it arrives (docs/control.md). This moves the set point the PI follows from
# where the process stands towards the target at most `rate` per second, easing in with
# time constant ease_s (the last few tenths of a kelvin slow down, so the heat stored in the
# element and the well is spent before the target is reached), and never more than `lead`
# ahead of the process (a process slower than the ramp winds the PI up less).
# slope: the ramp's rate in this step, for the caller's feed-forward.


class Ramp:
    def __init__(self, rate, ease_s, lead):
        self.rate = rate
        self.ease_s = ease_s
        self.lead = lead
        self.reset()

    def reset(self):
        self.value = None
        self.slope = 0.0

    def update(self, pv, sp, dt_s):
        value = pv if self.value is None else self.value
        step = sp - value
        most = self.rate * dt_s
        move = min(max(step * dt_s / self.ease_s, -most), most)
        if -0.01 < step < 0.01:
            move = step
        value += move
        if step > 0 and value > pv + self.lead:
            value = pv + self.lead
        self.slope = (value - (pv if self.value is None else self.value)) / dt_s if dt_s else 0.0
        self.value = value
        return value
