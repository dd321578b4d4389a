# hal/clock.py: FakeClock's ticks keep MicroPython's semantics (wrap at 2**30, signed diff)
# with the mask arithmetic that stays in small ints on a 32-bit port (test_board32.py checks
# that it allocates nothing there).
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from hal.clock import FakeClock

PERIOD = 1 << 30
HALF = PERIOD // 2
TICKS = (0, 1, 2, 999, HALF - 1, HALF, HALF + 1, PERIOD - 1000, PERIOD - 2, PERIOD - 1)
DELTAS = (0, 1, -1, 50, -50, 60000, -60000, HALF - 1, -HALF)


def ref_add(ticks, delta):
    # time.ticks_add: the sum modulo the period.
    return (ticks + delta) % PERIOD


def ref_diff(a, b):
    # time.ticks_diff: the difference as a signed value of the period's width.
    d = (a - b) % PERIOD
    return d - PERIOD if d >= HALF else d


def test_ticks_add_wraps_at_the_period():
    clock = FakeClock()
    for t in TICKS:
        for d in DELTAS:
            got = clock.ticks_add(t, d)
            assert got == ref_add(t, d), (t, d, got)
            assert 0 <= got < PERIOD
    assert clock.ticks_add(PERIOD - 1, 1) == 0 and clock.ticks_add(0, -1) == PERIOD - 1


def test_ticks_diff_is_signed_and_undoes_add():
    clock = FakeClock()
    for a in TICKS:
        for b in TICKS:
            got = clock.ticks_diff(a, b)
            assert got == ref_diff(a, b), (a, b, got)
            assert -HALF <= got < HALF
        for d in DELTAS:
            assert clock.ticks_diff(clock.ticks_add(a, d), a) == d
    assert clock.ticks_diff(0, PERIOD - 1) == 1 and clock.ticks_diff(PERIOD - 1, 0) == -1
    assert clock.ticks_diff(HALF, 0) == -HALF  # half a period away: the older side


def test_start_and_advance_wrap():
    assert FakeClock(PERIOD + 5).ticks_ms() == 5
    assert FakeClock(-1).ticks_ms() == PERIOD - 1
    clock = FakeClock(PERIOD - 30)
    clock.advance(50)
    assert clock.ticks_ms() == 20 and clock.wall_ms() == 50
    clock.sleep_until(clock.ticks_add(clock.ticks_ms(), HALF - 1))  # the furthest ahead
    assert clock.ticks_ms() == HALF + 19 and clock.wall_ms() == 50 + HALF - 1
