# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
# The vessel's controllers against worked cases (docs/control.md): demand-sized pH dosing
# with its learned buffer capacity and drift, the on/off baseline, the heat-up ramp, the
# ORP-driven aeration.
from fwcheck import near

from control.aerate import Aeration
from control.phdose import DemandDoser, onoff
from control.ramp import Ramp

CAP = 200000


def _doser(beta=0.1):
    # 10 L at 0.1 mol/L/pH: 1 eq per pH; 1 M H2SO4 (2 eq/L), 1 M NaOH; 60 s periods.
    return DemandDoser(10.0, beta, 2.0, 1.0, 60, 1e-3)


def _first(d, ph, sp, cap=CAP):
    # The doser's first dose: at its first reading (a handover to AUTO doses at once; the
    # readings after it are averaged in eights).
    return d.update(ph, sp, 1000, True, cap)


def test_a_dose_is_sized_to_the_error_and_the_buffer_capacity():
    # 0.2 pH high: 0.6 x 0.2 pH x 1 eq/pH = 0.12 eq = 60 mL of 2 eq/L acid.
    assert _first(_doser(), 1.9, 1.7) == 60000
    assert _first(_doser(0.2), 1.9, 1.7) == 120000  # twice the buffering, twice the acid
    assert _first(_doser(), 1.5, 1.7) == -120000  # 0.12 eq of 1 eq/L base
    assert _first(_doser(), 1.9, 1.7, 20000) == 20000  # within the cap
    assert _first(_doser(), 1.715, 1.7) == 0  # inside the deadband, no drift known


def test_capped_doses_follow_back_to_back_a_dose_sized_to_the_demand_once_a_period():
    d = _doser()
    assert _first(d, 1.75, 1.7, 20000) == 15000  # 0.6 x 0.05 pH x 1 eq/pH / 2 eq/L
    assert d.update(1.75, 1.7, 1000, True, 20000) == 0  # mix, then measure
    d = _doser()
    assert _first(d, 2.2, 1.7, 20000) == 20000  # the cap, not the demand: 150 mL
    assert d.update(2.2, 1.7, 1000, False, 20000) == 0  # a pump runs
    assert d.update(2.2, 1.7, 1000, True, 20000) == 20000  # done: the next at once
    d = _doser()
    assert _first(d, 1.75, 1.7) == 15000
    for _ in range(59):
        assert d.update(1.75, 1.7, 1000, True, CAP) == 0  # mix, then measure
    assert d.update(1.75, 1.7, 1000, True, CAP) == 15000


def _hold(d, beta, drift_per_h, hours, ph=1.7, sp=1.7, cap=20000, from_s=0, noise=0.0):
    # Closed loop on a 10 L vessel whose pH answers what is pumped in at once: -u / (beta V)
    # per eq of acid, plus drift_per_h; pumps of 2.5 mL/min (5 mL/min at a 50 % duty cap)
    # that rest 30 s after a dose (dose_interval), 1 M H2SO4 and 1 M NaOH; an electrode
    # reading within +-noise of the pH (a fixed pseudo-random sequence). Returns the pH's
    # lowest, highest and mean from from_s on, its lowest of all, the last, the acid and the
    # base (uL).
    lo = hi = low = ph
    total = 0.0
    n = 0
    run = 0  # uL the running dose has still to deliver, signed
    rest = 0  # s until the pumps may run again
    acid = base = 0
    rate = 2500 / 60
    seed = 1
    for t in range(int(hours * 3600)):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        reading = ph + noise * (seed / 0x3FFFFFFF - 1)
        rest -= 1
        if not run and rest <= 0:
            run = d.update(reading, sp, 1000, True, cap)
            rest = 30 + abs(run) / rate
        else:
            d.update(reading, sp, 1000, False, cap)
        ul = min(abs(run), rate)
        acid_ul = ul if run > 0 else 0
        base_ul = ul if run < 0 else 0
        run = run - ul if run > 0 else run + ul
        if -1 < run < 1:
            run = 0
        acid += acid_ul
        base += base_ul
        d.fed(acid_ul, base_ul)
        ph += drift_per_h / 3600 - (acid_ul * 2.0 - base_ul) / 1e6 / (beta * 10.0)
        low = min(low, ph)
        if t == from_s:
            lo = hi = ph
        if t >= from_s:
            lo = min(lo, ph)
            hi = max(hi, ph)
            total += ph
            n += 1
    return lo, hi, total / n, low, ph, acid, base


def test_the_buffer_capacity_is_learned_from_how_the_ph_answers():
    # From pH 2.2 to 1.7: the start-up's 20 mL doses and the pumps' rests between them.
    # It learns from the changes of dose rate that move the pH beyond the noise, slowly
    # (a wrong start costs reagent only through the deadband's slack).
    d = _doser(0.1)  # configured 0.1, the vessel has 0.25
    last = _hold(d, 0.25, 0.0, 6.0, ph=2.2)[4]
    assert 0.125 < d.beta() <= 0.25
    near(last, 1.7, 0.025)
    d = _doser(0.3)  # configured three times too high
    low = _hold(d, 0.1, 0.0, 6.0, ph=2.2)[3]
    assert 0.1 <= d.beta() < 0.2
    assert low > 1.68  # no overshoot on the way
    d = _doser(0.15)  # right: it stays
    _hold(d, 0.15, 0.0, 6.0, ph=2.2)
    near(d.beta(), 0.15, 0.0075)


def test_a_steady_demand_is_learned_and_held_without_limit_cycling():
    # Pyrite makes acid: the pH falls 0.05 pH/h (0.075 eq/h at 0.15 mol/L/pH, 10 L).
    d = _doser(0.15)
    lo, hi, mean, _low, _last, acid, _base = _hold(d, 0.15, -0.05, 6.0, from_s=3600)
    near(d.b * 3600, -0.05, 0.01)
    assert hi - lo < 0.04  # within +-0.02 of where it settles
    near(mean, 1.7, 0.025)
    assert acid == 0  # no acid against an acid-generating process: no acid/base cycling


def test_a_slow_drift_under_a_noisy_electrode_is_dosed_one_way():
    # Pyrite makes acid slowly (0.01 pH/h), the electrode reads within +-0.01 pH: over one
    # period the drift is a few percent of the noise's rate. Its estimate is not dosed until
    # it stands out of the noise; the error term holds the pH meanwhile: base only, no more
    # than the drift takes (0.06 pH x 1.5 eq/pH = 90 mL, less by where the pH ends).
    d = _doser(0.15)
    lo, hi, mean, _low, _last, acid, base = _hold(d, 0.15, -0.01, 6.0, noise=0.01)
    assert acid == 0
    assert 60000 < base < 90000
    assert lo > 1.67 and hi < 1.73
    near(mean, 1.7, 0.02)


def test_the_no_response_check_expects_what_the_demand_does_not_take():
    d = _doser()
    assert d.expect(80, 2.0, 1000) == 80  # no drift known: all of it should move the pH
    d.a = 1.0
    d.b = 1e-4  # the pH rises 1e-4 pH/s: 1e-4 eq/s = 50 uL/s of 2 eq/L acid holds it
    assert d.expect(80, 2.0, 1000) == 30
    assert d.expect(30, 2.0, 1000) == 0
    assert d.expect(80, -1.0, 1000) == 80  # base against a rising pH: all of it


def test_on_off_with_hysteresis():
    assert onoff(1.79, 1.7, 0.1, 0) == 0  # inside the band: off
    assert onoff(1.81, 1.7, 0.1, 0) == 1  # above: acid on
    assert onoff(1.75, 1.7, 0.1, 1) == 1  # on until back at the set point
    assert onoff(1.70, 1.7, 0.1, 1) == 0
    assert onoff(1.59, 1.7, 0.1, 0) == -1  # below: base on
    assert onoff(1.65, 1.7, 0.1, -1) == -1
    assert onoff(1.71, 1.7, 0.1, -1) == 0


def test_the_heat_up_ramp_starts_where_the_broth_is_and_eases_in():
    r = Ramp(0.01, 600, 0.5)
    near(r.update(20.0, 35.0, 1.0), 20.01, 1e-9)  # from the broth, at the rate
    near(r.slope, 0.01, 1e-9)
    for _ in range(49):
        r.update(20.0 + 0.01 * _, 35.0, 1.0)
    near(r.value, 20.5, 1e-6)
    near(r.update(20.0, 35.0, 1.0), 20.5, 1e-9)  # never more than 0.5 K ahead of the broth
    r = Ramp(0.01, 600, 0.5)
    r.update(34.4, 35.0, 1.0)
    near(r.value, 34.401, 1e-9)  # 0.6 K away: eases in at 0.6 / 600 per second
    r = Ramp(0.01, 600, 0.5)
    near(r.update(34.995, 35.0, 1.0), 35.0, 1e-9)  # within 0.01 K: there
    r = Ramp(0.01, 600, 0.5)
    near(r.update(38.0, 35.0, 1.0), 37.995, 1e-9)  # above: down, easing (3 K / 600 s)


def test_aeration_on_an_orp_set_point_with_hysteresis_and_minimum_times():
    a = Aeration()
    step = 1000

    def run(orp, seconds):
        for _ in range(seconds):
            on = a.update(orp, 700, 20, 300000, 120000, step)
        return on

    assert run(690, 10)  # on from the start, inside the band: stays on
    assert run(730, 289)  # above sp + band, but on for less than 5 min: held on
    assert not run(730, 2)  # 5 min on: off
    assert not run(650, 118)  # below sp - band, but off for less than 2 min
    assert run(650, 1)  # 2 min off: on
    assert run(710, 600)  # inside the band: no change
    assert run(None, 600)  # no reading: the air stays on
