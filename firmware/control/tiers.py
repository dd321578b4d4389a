# pilotedge: foxBMS-style debounce counters, and the three-tier limit monitor MOL < RSL < MSL
# (MIT).
#
# Debounce: the counter rises by one on a bad sample and falls by one on a good one, capped
# at the threshold. The condition becomes active when the counter reaches the threshold and
# stays active until the counter is back at 0, so threshold x sample period is both the
# response time and the hysteresis (docs/references.md §5.1).
#
# Tiers (foxBMS practice, docs/references.md §5.1): each tier is a control/alarm.py Alarm on
# one quantity: active once the value has been above the tier's limit for its on-delay (the
# tier's response time), inactive again once it is back below the limit by the deadband
# (the hysteresis to clear). Latching an MSL trip is the caller's job: it must survive a
# reboot, so it lives with the persisted state. Ints throughout: nothing allocates.

from compat import const
from control.alarm import Alarm

OK = const(0)
MOL = const(1)
RSL = const(2)
MSL = const(3)


class Debounce:
    def __init__(self, threshold):
        self.threshold = threshold
        self.count = 0
        self.active = False

    def update(self, bad):
        c = self.count
        if bad:
            if c < self.threshold:
                c += 1
            if c >= self.threshold:
                self.active = True
        else:
            if c > 0:
                c -= 1
            if c == 0:
                self.active = False
        self.count = c
        return self.active

    def reset(self):
        self.count = 0
        self.active = False


class Tiers:
    def __init__(self, deadband, mol_ms, rsl_ms, msl_ms):
        self._mol = Alarm(0, deadband, mol_ms)
        self._rsl = Alarm(0, deadband, rsl_ms)
        self._msl = Alarm(0, deadband, msl_ms)
        self.level = OK

    def update(self, value, mol, rsl, msl, dt_ms):
        # Feed one sample taken dt_ms after the last; returns the highest active tier.
        a = self._mol
        a.limit = mol
        a.feed(value, dt_ms)
        b = self._rsl
        b.limit = rsl
        b.feed(value, dt_ms)
        c = self._msl
        c.limit = msl
        c.feed(value, dt_ms)
        self.level = MSL if c.active else RSL if b.active else MOL if a.active else OK
        return self.level
