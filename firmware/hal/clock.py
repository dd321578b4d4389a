# pilotedge: the manual clock of the fake HAL, the bench and the firmware benchmark (MIT).
#
# Its own module so that a user who needs only a clock on simulated time (the firmware
# benchmark) does not load the fake HAL's buses and pins.
#
# Ticks wrap at 2**30 like a port's ticks_ms. The arithmetic is masks on small ints: on a
# 32-bit port a small int is 31-bit signed, so 2**30 itself (or a sum past it) is a heap long
# and `% (1 << 30)` allocated on every call (1.8 KB per control pass). Each step below stays
# within -2**30 ... 2**30 - 1 for ticks in range and deltas within half a period.

from compat import const

_TICKS_MAX = const((1 << 30) - 1)  # ticks run 0 ... _TICKS_MAX, then wrap to 0
_TICKS_HALF = const(1 << 29)


class FakeClock:
    # Manual clock: time moves only by advance() and sleep_until().
    def __init__(self, start_ms=0):
        self.now_ms = start_ms & _TICKS_MAX
        self.elapsed_ms = 0  # total advanced, for wall_ms()

    def ticks_ms(self):
        return self.now_ms

    def ticks_add(self, ticks, delta):
        # (ticks + delta) mod 2**30, computed as ((ticks - 2**29 + delta) mod 2**30) + 2**29,
        # where adding 2**29 mod 2**30 is flipping bit 29.
        return ((ticks - _TICKS_HALF + delta) & _TICKS_MAX) ^ _TICKS_HALF

    def ticks_diff(self, a, b):
        # (a - b) as a signed 30-bit value: ((a - b + 2**29) mod 2**30) - 2**29.
        return (((a - b) ^ _TICKS_HALF) & _TICKS_MAX) - _TICKS_HALF

    def advance(self, ms):
        self.now_ms = self.ticks_add(self.now_ms, ms)
        self.elapsed_ms += ms  # a long int after 12.4 simulated days: bench time only

    def sleep_until(self, t_ms):
        d = self.ticks_diff(t_ms, self.now_ms)
        if d > 0:
            self.advance(d)

    def wall_ms(self):
        return self.elapsed_ms
