# Sensor plausibility on synthetic signals: missing, stale, range, rate, stuck, no response,
# and the two-thermometer over-temperature cutoff.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from control.plausible import TRIP, NoResponse, SensorCheck, TwinCheck
from pilotproto import messages as m

OK = m.CHECK_OK
MISSING = m.CHECK_MISSING
STALE = m.CHECK_STALE
RANGE = m.CHECK_RANGE
RATE = m.CHECK_RATE
STUCK = m.CHECK_STUCK
NO_RESPONSE = m.CHECK_NO_RESPONSE
DISAGREE = m.CHECK_DISAGREE


def noisy(base, i, amp):
    # Deterministic noise of +-amp around base (ints).
    return base + (i * 7919) % (2 * amp + 1) - amp


def ph_check():
    # milli-pH: -1..15 pH, fresh every 5 s, 100 mpH/min + 50 slack, stuck after 30.
    return SensorCheck(-1000, 15000, 5000, 100, 50, 30)


def test_a_healthy_noisy_ph_passes():
    c = ph_check()
    for i in range(600):
        assert c.update(noisy(1700, i, 5), 1000) == OK


def test_short_reads_ph_7_and_is_caught():
    # A shorted electrode reads 0 mV = pH 7.000 exactly: the jump is implausible, and the
    # flat line that follows is stuck.
    c = ph_check()
    for i in range(60):
        c.update(noisy(1700, i, 5), 1000)
    verdicts = [c.update(7000, 1000) for _ in range(120)]
    assert verdicts[0] == RATE  # the jump: 5.3 pH in a second
    assert OK not in verdicts
    assert verdicts[28] == RATE and verdicts[29] == STUCK  # 30 identical readings


def test_slow_real_change_is_not_a_rate_fault():
    c = ph_check()
    for i in range(1200):  # 0.06 pH/min, the fastest dosing moves a vessel
        assert c.update(1700 + i, 1000) == OK


def test_a_ramp_too_fast_for_the_process_fails_even_below_the_slack_per_sample():
    # 40 mpH a second stays within the 50 mpH slack sample by sample, but is 2.4 pH/min.
    c = ph_check()
    for i in range(60):
        c.update(noisy(1700, i, 5), 1000)
    verdicts = [c.update(1700 + 40 * k, 1000) for k in range(1, 61)]
    assert RATE in verdicts and verdicts.index(RATE) <= 3
    # Once physics would allow the new value, it is plausible again.
    held = [c.update(noisy(4100, k, 5), 1000) for k in range(30 * 60)]
    assert held[0] == RATE and held[-1] == OK


def test_missing_stale_and_range():
    c = ph_check()
    assert c.update(1700, 1000) == OK
    assert c.update(None, 1000) == MISSING  # a read error is never a number
    assert c.update(1701, 1000) == OK
    assert c.update(1701, 1000, False) == OK  # the last sample still young
    for _ in range(3):
        c.update(1701, 1000, False)
    assert c.update(1701, 1000, False) == STALE  # 5 s without a new sample
    assert c.update(1702, 1000) == OK
    assert c.update(16000, 1000) == RANGE
    assert c.update(-1001, 1000) == RANGE


def test_temperature_rate_from_heater_physics():
    # centi-degC. 10 L, 300 W: at most 0.43 K/min; allow 86 cC/min plus 25 cC of DS18B20
    # quantisation. Stuck off (a steady vessel repeats its reading).
    c = SensorCheck(-500, 11000, 3000, 86, 25, 0)
    t = 2000.0
    reading = 2000
    for _ in range(600):  # heating at full power: 43 cC/min, one 6.25 cC step at a time
        t += 43 / 60
        reading = int(t / 6.25) * 625 // 100
        assert c.update(reading, 1000) == OK
    for _ in range(600):
        assert c.update(reading, 1000) == OK
    assert c.update(8500, 1000) == RATE  # the DS18B20 power-on value, out of nowhere
    assert c.update(reading, 1000) == OK


def test_acid_that_does_not_move_the_ph():
    # 20 mL of acid should move 10 L by >= 0.03 pH even at the highest buffer capacity; allow
    # 120 s of mixing after that.
    r = NoResponse(20000, 10, -1, 120000)
    ph = 1900
    for _ in range(10):  # 2 mL per minute, the pH answers
        for s in range(60):
            ph_now = ph - 1 if s == 30 else ph
            r.update(ph_now, 2000 if s == 0 else 0, 1000)
            ph = ph_now
        assert r.verdict == OK
    stuck = NoResponse(20000, 10, -1, 120000)
    verdicts = []
    for k in range(700):  # the same doses into a dead electrode reading pH 7.000
        verdicts.append(stuck.update(noisy(7000, k, 3), 2000 if k % 60 == 0 else 0, 1000))
    # 20 mL in at 540 s, then 120 s to mix.
    assert verdicts[658] == OK and verdicts[659] == NO_RESPONSE and verdicts[699] == NO_RESPONSE
    stuck.reset()
    assert stuck.update(7000, 0, 1000) == OK


def test_doses_are_judged_from_before_them_and_against_what_pushed_back():
    # A dose reported with the pH it already moved is judged from the pH before it.
    r = NoResponse(2000, 50, -1, 60000)
    assert r.update(1850, 0, 1000) == OK
    r.update(1780, 2000, 1000)  # the whole dose, and the pH 70 down with it: answered
    assert r._start is None
    # The process pushes the pH up while acid goes in; it must come down from its top.
    r = NoResponse(2000, 50, -1, 60000)
    ph = 1700
    for _ in range(120):  # +2 mpH/s, 100 uL/s
        ph += 2
        r.update(ph, 100, 1000)
    assert r.verdict == NO_RESPONSE  # 240 mpH up against 12 mL: no answer
    r = NoResponse(2000, 50, -1, 60000)
    for k in range(120):  # the same, but every minute the doses pull it 100 mpH back down
        ph += 2 if k % 60 < 50 else -10
        r.update(ph, 100, 1000)
    assert r.verdict == OK


def test_heater_that_does_not_move_the_temperature():
    # 300 W into 10 L with up to 126 W of losses: 174 W of excess; 1 K needs 41.9 kJ.
    r = NoResponse(41900, 50, 1, 60000)
    verdicts = [r.update(3000, 174, 1000) for _ in range(400)]
    assert verdicts[240] == OK and verdicts[399] == NO_RESPONSE  # 241 s + 60 s
    r = NoResponse(41900, 50, 1, 60000)
    temp = 3000.0
    for _ in range(400):  # the vessel warms at 0.25 K/min
        temp += 0.41
        assert r.update(int(temp), 174, 1000) == OK


def test_twin_thermometers():
    t = TwinCheck(5000, 500, 200)
    assert t.update(3500, 3550) == OK
    assert t.update(3500, 4100) == DISAGREE  # 6 K apart: one of them lies
    assert t.update(None, 3550) == MISSING
    assert t.update(3000, 5001) == TRIP  # the control sensor stuck at 30, the other hot
    assert not t.reset()  # still hot
    assert t.update(3000, 4850) == TRIP  # latched below the cutoff
    assert not t.reset()  # within the band below the cutoff
    assert t.update(3000, 3010) == TRIP
    assert t.reset() and t.update(3000, 3010) == OK
    assert t.update(None, 5100) == TRIP  # one sensor missing: the other still trips
