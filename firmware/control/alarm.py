# pilotedge: alarms without chatter or floods: on-delay, deadband, latch, acknowledge, and a
# limit on how many a unit may announce (MIT).
#
# ISA-18.2 practice (docs/references.md §5.2, [S91][S92]): a condition must persist for the
# on-delay before it raises; once raised it clears only when the value is back past the
# limit by the deadband, so a value hovering at its limit is one standing alarm, not a
# stream, and it re-raises only after clearing. A latching alarm (a trip) stays active after
# its condition clears until it is acknowledged ([S87]; persisting the latch across a reboot
# is the caller's, see restore()).
#
# `active` is the state interlocks act on; announcing it (the RAISED and CLEARED events) goes
# through a Limiter shared by a unit's alarms: at most 10 raises in any 10 minutes, the ISA
# flood threshold [S91], of which the last `reserve` are kept for trips. An alarm the limiter
# holds back is active at once and announced as soon as the limiter has room; if it clears
# before that, nothing is announced. The unit's `alarms` telemetry bits can show `active`.
#
# Values, limits and times are ints (wire units such as milli-pH, ms): nothing allocates.

from compat import const

# feed() / ack() transitions
NONE = const(0)
RAISED = const(1)
CLEARED = const(2)

_WINDOW_MS = const(600000)
_MAX_RAISES = const(10)
_RESERVE = const(2)


class Limiter:
    # Announcements of one unit's alarms: fewer than max_raises in any window_ms before each
    # new one. Keeps the ages of the last max_raises raises (small ints: capped).

    def __init__(self, max_raises=_MAX_RAISES, window_ms=_WINDOW_MS, reserve=_RESERVE):
        self.window_ms = window_ms
        self.reserve = reserve
        self._ages = [window_ms + 1] * max_raises  # ms since each raise, oldest at _i
        self._i = 0

    def advance(self, dt_ms):
        # Once per cycle of the unit, before its alarms update.
        ages = self._ages
        w = self.window_ms
        for k in range(len(ages)):
            if ages[k] <= w:
                ages[k] += dt_ms

    def count(self):
        # Raises within the last window_ms.
        n = 0
        for age in self._ages:
            if age <= self.window_ms:
                n += 1
        return n

    def allow(self, trip):
        # Record and allow one raise if there is room (trips may use the reserve).
        ages = self._ages
        room = len(ages) if trip else len(ages) - self.reserve
        if self.count() >= room:
            return False
        ages[self._i] = 0
        self._i = (self._i + 1) % len(ages)
        return True


class Alarm:
    def __init__(self, limit, deadband, on_delay_ms=0, high=True, latch=False, limiter=None):
        # high: raise above limit, clear at or below limit - deadband; else below limit and
        # at or above limit + deadband. A boolean condition is high with limit 0, deadband 0.
        self.limit = limit
        self.deadband = deadband
        self.on_delay_ms = on_delay_ms
        self.high = high
        self.latch = latch
        self._limiter = limiter
        self.reset()

    def reset(self):
        self.cond = False  # the condition with its deadband
        self.active = False
        self.shown = False  # announced: RAISED sent, CLEARED not yet
        self.acked = False
        self._on_ms = 0

    def restore(self):
        # A latched trip persisted across a reboot: active now, announced on the next feed().
        self.cond = True
        self.active = True
        self.acked = False

    def feed(self, value, dt_ms):
        # The value now; returns NONE, RAISED or CLEARED (what to announce now).
        if self.high:
            if value > self.limit:
                self.cond = True
            elif value <= self.limit - self.deadband:
                self.cond = False
        elif value < self.limit:
            self.cond = True
        elif value >= self.limit + self.deadband:
            self.cond = False
        if self.cond:
            if not self.active:
                self._on_ms += dt_ms
                if self._on_ms >= self.on_delay_ms:
                    self.active = True
                    self.acked = False
        else:
            self._on_ms = 0
            if self.active and (self.acked or not self.latch):
                self.active = False
        return self._announce()

    def ack(self):
        # Operator acknowledge; clears a latched alarm whose condition has cleared. Returns
        # CLEARED when that ends an announced alarm.
        self.acked = True
        if self.active and not self.cond:
            self.active = False
        return self._announce()

    def _announce(self):
        if self.active and not self.shown:
            lim = self._limiter
            if lim is None or lim.allow(self.latch):
                self.shown = True
                return RAISED
        elif self.shown and not self.active:
            self.shown = False
            return CLEARED
        return NONE
