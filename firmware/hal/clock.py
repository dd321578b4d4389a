# pilotedge: the manual clock of the fake HAL, the bench and the firmware benchmark (MIT).
#
# Its own module so that a user who needs only a clock on simulated time (the firmware
# benchmark) does not load the fake HAL's buses and pins.

from compat import const

_TICKS_PERIOD = const(1 << 30)  # MicroPython ports wrap ticks_ms at 2**30


class FakeClock:
    # Manual clock: time moves only by advance() and sleep_until().
    def __init__(self, start_ms=0):
        self.now_ms = start_ms % _TICKS_PERIOD
        self.elapsed_ms = 0  # total advanced, for wall_ms()

    def ticks_ms(self):
        return self.now_ms

    def ticks_add(self, ticks, delta):
        return (ticks + delta) % _TICKS_PERIOD

    def ticks_diff(self, a, b):
        d = (a - b) % _TICKS_PERIOD
        return d - _TICKS_PERIOD if d >= _TICKS_PERIOD // 2 else d

    def advance(self, ms):
        self.now_ms = (self.now_ms + ms) % _TICKS_PERIOD
        self.elapsed_ms += ms

    def sleep_until(self, t_ms):
        d = self.ticks_diff(t_ms, self.now_ms)
        if d > 0:
            self.advance(d)

    def wall_ms(self):
        return self.elapsed_ms
