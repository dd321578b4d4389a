# Alarms: on-delay, deadband, latch and acknowledge, and the flood limiter (ISA-18.2: at most
# 10 raises in any 10 minutes).
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from control.alarm import CLEARED, NONE, RAISED, Alarm, Limiter

S = 1000


def run(alarm, values, dt_ms=S):
    return [alarm.feed(v, dt_ms) for v in values]


def test_on_delay_needs_the_condition_to_persist():
    a = Alarm(2300, 50, on_delay_ms=10 * S)  # PH_HIGH at 2.3 pH, 0.05 deadband, 10 s
    assert run(a, [2400] * 9) == [NONE] * 9
    assert run(a, [2200]) == [NONE]  # back past the deadband: the delay starts again
    assert run(a, [2400] * 9) == [NONE] * 9 and not a.active
    assert run(a, [2400]) == [RAISED] and a.active


def test_deadband_makes_a_hovering_value_one_alarm():
    # The PH_HIGH chattered 16 times around its limit: noise of +-20 mpH at 2.3 pH.
    a = Alarm(2300, 50, on_delay_ms=5 * S)
    out = run(a, [2300 + ((i * 7919) % 41) - 20 for i in range(3600)])
    assert out.count(RAISED) == 1 and out.count(CLEARED) == 0
    assert run(a, [2260]) == [NONE] and a.active  # within the deadband: still standing
    assert run(a, [2250]) == [CLEARED]  # limit - deadband
    assert run(a, [2290] * 30) == [NONE] * 30  # below the limit: no new alarm


def test_low_alarm():
    a = Alarm(1300, 50, high=False)
    assert run(a, [1299, 1340, 1349, 1350]) == [RAISED, NONE, NONE, CLEARED]


def test_latched_trip_needs_clear_and_acknowledge():
    a = Alarm(5000, 200, latch=True)
    assert run(a, [5001]) == [RAISED]
    assert run(a, [3000] * 5) == [NONE] * 5 and a.active  # cleared but latched
    assert a.ack() == CLEARED and not a.active
    assert run(a, [5001, 5001]) == [RAISED, NONE]
    assert a.ack() == NONE and a.active  # acknowledged while the condition stands
    assert run(a, [4900]) == [NONE]  # within the deadband
    assert run(a, [4800]) == [CLEARED]  # and cleared, acknowledged before
    b = Alarm(5000, 200, latch=True)
    b.restore()  # latched before a reboot
    assert b.active and run(b, [3000]) == [RAISED]
    assert b.ack() == CLEARED


def test_acknowledge_keeps_a_non_latched_alarm_until_it_clears():
    a = Alarm(0, 0)  # a boolean condition
    assert run(a, [1]) == [RAISED]
    assert a.ack() == NONE and a.acked and a.active
    assert run(a, [1, 0]) == [NONE, CLEARED]
    assert run(a, [1]) == [RAISED] and not a.acked


def test_limiter_allows_ten_raises_in_any_ten_minutes():
    lim = Limiter()
    a = [Alarm(0, 0, limiter=lim) for _ in range(12)]
    trip = Alarm(0, 0, latch=True, limiter=lim)
    raises = []  # seconds of each announced raise
    for t in range(3600):
        lim.advance(S)
        for k, alarm in enumerate(a):
            # Every alarm toggles on and off with its own period: a flood.
            if alarm.feed((t // (k + 2)) % 2, S) == RAISED:
                raises.append(t)
        if t == 500 and trip.feed(1, S) == RAISED:
            raises.append(t)
    assert len(raises) > 20
    for i in range(len(raises) - 10):
        assert raises[i + 10] - raises[i] > 600  # 11 raises never within 10 minutes
    assert 500 in raises  # the trip found its reserved room in the flood


def test_limiter_holds_an_alarm_back_and_announces_it_later():
    lim = Limiter(max_raises=2, window_ms=60 * S, reserve=0)
    a, b, c = (Alarm(0, 0, limiter=lim) for _ in range(3))
    assert a.feed(1, S) == RAISED and b.feed(1, S) == RAISED
    assert c.feed(1, S) == NONE and c.active and not c.shown  # held back, but active
    for _ in range(59):
        lim.advance(S)
        assert c.feed(1, S) == NONE
    lim.advance(2 * S)
    assert c.feed(1, S) == RAISED  # room again 60 s after the first raises
    d = Alarm(0, 0, limiter=lim)
    assert d.feed(1, S) == RAISED
    e = Alarm(0, 0, limiter=lim)
    assert e.feed(1, S) == NONE and e.feed(0, S) == NONE  # cleared before announced
    assert lim.count() == 2
