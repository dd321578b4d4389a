# The canister's pure parts: equilibrium model, tiers, lag compensation, state of charge, leak.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
import math

from fwcheck import near

from control import tiers
from control.hydride import ABS, ALLOYS, DES, Pct
from control.lead import Lead
from control.leak import Leak
from control.soc import Soc

LANI5 = Pct("LaNi5")


def test_plateau_pressures_are_the_published_ones():
    # docs/references.md §4.1 plateau table from [S64], bar absolute at mid-plateau.
    for t_c, p_abs, p_des in ((25.0, 1.78, 1.56), (40.0, 3.23, 2.84), (60.0, 6.57, 5.77),
                              (100.0, 21.6, 19.0)):
        near(LANI5.p_bar(ABS, t_c, 0.5), p_abs, 0.006 * p_abs)
        near(LANI5.p_bar(DES, t_c, 0.5), p_des, 0.006 * p_des)


def test_plateau_doubles_every_17_k_and_the_hysteresis_is_0_13():
    # d ln P / dT = B / T^2 = 0.0417 per K at 25 degC: doubling every 16.6 K (§4.1)
    dlnp = math.log(LANI5.p_bar(ABS, 25.05, 0.5) / LANI5.p_bar(ABS, 24.95, 0.5)) / 0.1
    near(math.log(2) / dlnp, 16.6, 0.05)
    for soc in (0.1, 0.5, 0.9):
        ratio = LANI5.p_bar(ABS, 30.0, soc) / LANI5.p_bar(DES, 30.0, soc)
        near(math.log(ratio), 0.13, 1e-9)


def test_plateau_slopes_and_steepens_at_the_ends():
    p = [LANI5.p_bar(DES, 20.0, x) for x in (0.02, 0.1, 0.5, 0.9, 0.98)]
    assert p == sorted(p)
    assert p[3] / p[1] < 1.25  # flat plateau: 10 % to 90 % within 25 % of pressure
    assert p[4] / p[3] > 1.3  # the beta-phase end rises steeply


def test_soc_inverts_the_branch_pressure():
    for branch in (ABS, DES):
        for t_c in (0.0, 25.0, 60.0):
            for soc in (0.01, 0.3, 0.5, 0.97):
                near(LANI5.soc(branch, LANI5.p_bar(branch, t_c, soc), t_c), soc, 1e-9)


def test_other_alloys_and_a_flat_plateau():
    ti = Pct("Ti1.1CrMn")
    near(ti.p_bar(DES, 23.0, 0.5), 110.0, 15.0)  # 11 MPa dissociation near 296 K [S66]
    assert set(ALLOYS) >= {"LaNi5", "Ti1.1CrMn"}
    flat = Pct("LaNi5")
    flat.slope = (0.0, 0.0)
    p = LANI5.p_bar(DES, 25.0, 0.5)
    assert flat.soc(DES, 0.9 * p, 25.0) == 0.0 and flat.soc(DES, 1.1 * p, 25.0) == 1.0


def test_tiers_need_their_on_delay_and_clear_with_the_deadband():
    t = tiers.Tiers(500, 1000, 40, 40)  # mbar deadband, ms on-delays
    assert t.update(19000, 18000, 22000, 28000, 20) == tiers.OK
    for _ in range(48):
        assert t.update(19000, 18000, 22000, 28000, 20) == tiers.OK
    assert t.update(19000, 18000, 22000, 28000, 20) == tiers.MOL  # 1000 ms above MOL
    assert t.update(28001, 18000, 22000, 28000, 20) == tiers.MOL
    assert t.update(28001, 18000, 22000, 28000, 20) == tiers.MSL  # the second sample: 40 ms
    # Back below MSL but within its deadband: still MSL; clear of it: RSL is still above.
    assert t.update(27600, 18000, 22000, 28000, 20) == tiers.MSL
    assert t.update(27400, 18000, 22000, 28000, 20) == tiers.RSL
    assert t.update(17600, 18000, 22000, 28000, 20) == tiers.MOL  # MOL holds in its band
    assert t.update(17400, 18000, 22000, 28000, 20) == tiers.OK


def test_a_spike_shorter_than_the_on_delay_does_not_trip():
    t = tiers.Tiers(500, 1000, 40, 40)
    assert t.update(29000, 18000, 22000, 28000, 20) == tiers.OK
    assert t.update(10000, 18000, 22000, 28000, 20) == tiers.OK
    assert t.update(29000, 18000, 22000, 28000, 20) == tiers.OK  # the delay restarted


def _lagged_ramp(lead, tau_s, rate_k_per_s, seconds, step_s=0.1):
    # A sensor with lag tau_s on a shell warming at rate from 20 degC, read every step_s;
    # returns (true, sensor, estimate) at the end, degC.
    x = y = 20.0
    est = None
    a = 1.0 - math.exp(-step_s / tau_s)
    for _ in range(int(seconds / step_s)):
        x += rate_k_per_s * step_s
        y += (x - y) * a
        est = lead.update(int(y * 100), int(step_s * 1000))
    return x, y, est / 100


def test_lead_follows_a_ramp_with_3_s_instead_of_the_sensors_20():
    x, y, est = _lagged_ramp(Lead(20000), 20.0, 0.5, 120.0)
    near(x - y, 0.5 * 20.0, 0.5)  # the sensor trails by tau x rate
    near(x - est, 0.5 * 3.0, 0.2)  # the estimate by 2 tf x rate
    lead = Lead(20000)
    _lagged_ramp(lead, 20.0, 0.5, 120.0)
    near(lead.rate, 0.5 * 60 * 100, 150)  # centi-degC per minute


def test_lead_amplifies_a_noisy_reading_a_few_times_not_tau_over_tf():
    # White noise of 5 centi-degC at 10 Hz on a steady 25 degC (an NTC's, as the bench's):
    # a single lead-lag would pass it 10 times (tau / tf at high frequencies).
    lead = Lead(20000)
    seed, total, n = 12345, 0, 0
    for i in range(3000):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        est = lead.update(2500 + (seed >> 16) % 17 - 8, 100)  # +-8: sd 5
        if i >= 600:
            total += (est - 2500) ** 2
            n += 1
    assert math.sqrt(total / n) < 5 * 4


def test_lead_adds_nothing_to_a_fast_sensor_and_holds_a_steady_one():
    lead = Lead(1000)  # tau below 2 tf: no lead
    for v in (2000, 2100, 2300):
        assert lead.update(v, 100) == v
    lead = Lead(20000)
    for _ in range(100):
        assert lead.update(2500, 100) == 2500
    assert lead.rate == 0


def test_lead_takes_a_repeated_reading_as_no_new_sample():
    # A DS18B20 gives a new value every 750 ms; read at 10 Hz it repeats. The estimate must
    # move on new samples only, or each one would look like a jump within 100 ms.
    lead = Lead(15000)
    for _ in range(50):
        lead.update(2000, 100)
    first = lead.update(2050, 100)
    for _ in range(6):
        assert lead.update(2050, 100) == first
    assert lead.update(2100, 100) > first


def _rest(soc, p_bar, t_c, gas=0.0, thru=0.0):
    soc.update(p_bar, t_c, gas, thru, 0.0, False, True, True)


def test_rest_bounds_are_narrow_at_the_ends_and_wide_on_the_plateau():
    soc = Soc(LANI5, 100.0, False)
    _rest(soc, LANI5.p_bar(DES, 21.0, 0.5), 21.0)
    assert soc.lo < 0.2 and soc.hi > 0.49 and soc.valid == 1  # BAND
    _rest(soc, LANI5.p_bar(ABS, 21.0, 0.97), 21.0)
    assert 0.93 < soc.lo <= 0.97 <= soc.hi < 1.0
    _rest(soc, LANI5.p_bar(DES, 21.0, 0.03), 21.0)
    assert 0.0 <= soc.lo <= 0.03 <= soc.hi < 0.06


def test_without_a_meter_an_open_inlet_opens_the_upper_bound():
    soc = Soc(LANI5, 100.0, False)
    _rest(soc, LANI5.p_bar(DES, 21.0, 0.1), 21.0)
    lo = soc.lo
    soc.update(12.0, 30.0, 0.0, 0.0, 0.0, True, False, False)
    assert soc.lo == lo and soc.hi == 1.0
    soc.update(None, 30.0, 0.0, 0.0, 0.0, False, False, False)
    assert soc.valid == 0  # INVALID without a pressure


def test_counting_from_the_first_rest_and_correcting_at_the_full_end():
    soc = Soc(LANI5, 100.0, True)
    soc.update(1.2, 21.0, 0.0, 0.0, 0.0, False, False, False)
    assert soc.count is None and soc.valid == 1
    _rest(soc, LANI5.p_bar(DES, 21.0, 0.05), 21.0)
    assert soc.valid == 2 and abs(soc.count - 0.05) < 0.03
    for _ in range(880):  # 88 NL in, counted 1 % high
        soc.update(8.0, 38.0, 0.101, 0.101, 0.0, True, False, False)
    assert abs(soc.count - 0.94) < 0.04 and soc.hi - soc.lo > 0.04
    _rest(soc, LANI5.p_bar(ABS, 21.0, 0.93), 21.0)  # at the full end P and T tell
    near(soc.count, 0.93, 0.02)
    assert soc.lo <= 0.93 <= soc.hi and soc.hi - soc.lo < 0.07 and soc.deficit == 0.0


def test_gas_that_left_unmetered_is_a_deficit_at_the_next_rest():
    soc = Soc(LANI5, 100.0, True)
    _rest(soc, LANI5.p_bar(ABS, 21.0, 0.97), 21.0)
    for _ in range(840):  # 84 NL drawn through the meter, 10 NL more leak past it
        soc.update(1.4, 15.0, -0.1, 0.1, 0.0, False, True, False)
    _rest(soc, LANI5.p_bar(DES, 21.0, 0.03), 21.0)  # at the empty end P and T tell
    near(soc.deficit, 0.1, 0.03)
    assert soc.lo <= soc.count <= soc.hi and soc.lo <= 0.03 <= soc.hi


class _Canister:
    # A lumped isolated canister in a swinging room, on the desorption branch: the shell's
    # heat balance with the leak's desorption cooling (1374 J/NL), and the pressure of
    # what is left.
    def __init__(self, leak_nl_h):
        self.t = 21.0
        self.soc = 0.5
        self.leak = leak_nl_h

    def step(self, amb, dt):
        nl = self.leak * dt / 3600
        self.soc -= nl / 100.0
        self.t += dt * (0.5 * (amb - self.t) - 1374.0 * nl / dt) / 564.25
        return self.t, LANI5.p_bar(DES, self.t, self.soc)


def _run_leak(leak_nl_h, minutes):
    det = Leak(LANI5, 564.25, 0.5, 100.0)
    can = _Canister(leak_nl_h)
    for s in range(minutes * 60):
        amb = 21.0 + 3.0 * math.sin(2 * math.pi * s / 86400)
        t, p = can.step(amb, 1.0)
        det.update(t, amb, p, 1.0)
    return det


def test_leak_signatures_find_a_2_percent_per_hour_leak():
    det = _run_leak(2.0, 40)
    near(det.thermal, 2.0, 0.2)
    near(det.pct, 2.0, 0.2)  # the leak's cooling outweighs the room: the shell cools
    near(det.rate, 2.0, 0.2)


def test_no_leak_no_rate_and_a_warming_shell_leaves_the_pressure_out():
    det = _run_leak(0.0, 40)
    assert det.pct is None  # the room (and shell) warmed: x_des could fall in the loop
    near(det.thermal, 0.0, 0.1)
    near(det.rate, 0.0, 0.1)
    det = Leak(LANI5, 564.25, 0.5, 100.0)
    can = _Canister(0.0)
    can.t = 24.0
    for _ in range(40 * 60):
        t, p = can.step(20.0, 1.0)  # a room colder than the shell: the shell cools
        det.update(t, 20.0, p, 1.0)
    near(det.pct, 0.0, 0.05)
    near(det.thermal, 0.0, 0.05)
    det.reset()
    assert det.rate is None


def test_without_a_room_sensor_only_the_pressure_judges():
    det = Leak(LANI5, 564.25, 0.5, 100.0)
    can = _Canister(3.0)
    can.t = 24.0
    for _ in range(25 * 60):
        t, p = can.step(20.0, 1.0)
        det.update(t, None, p, 1.0)
    assert det.thermal is None
    near(det.rate, 3.0, 0.3)
