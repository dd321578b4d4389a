# Calibration math: pH buffers (1-3 points, health), stability, ORP, pumps, records.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from fwcheck import near

from control import calrecord, health, orp, phcal, pumpcal
from control.health import GOOD, REJECT, WARN
from control.ph import slope_mv
from control.standards import REF_AGCL_3M, REF_AGCL_SAT, buffer_ph, reference_mv
from control.steady import Steady

# Worked example (docs/references.md §2.1-2.3): an electrode of 97 % slope and +12 mV offset
# in the 1.68 and 4.01 buffers at 25 degC. Buffer pH there: 1.680 and 4.006 (the phthalate
# closed form [S24]); slope 0.97 x 59.159 = 57.384 mV/pH, so it reads
# 12 + 57.384 x (7 - 1.680) = 317.29 mV and 12 + 57.384 x (7 - 4.006) = 183.81 mV.
MV_168 = 317.29
MV_401 = 183.81


def test_buffer_tables_at_their_temperatures():
    near(buffer_ph(1680, 25.0), 1.68, 1e-9)
    near(buffer_ph(4010, 25.0), 4.006, 1e-9)
    near(buffer_ph(4010, 40.0), 4.031, 1e-9)
    near(buffer_ph(7000, 12.5), 7.05, 1e-9)  # halfway between 7.06 and 7.04
    near(buffer_ph(1680, 40.0), 1.70, 1e-9)  # beyond its 15-35 degC rows: the end slope
    assert buffer_ph(5000, 25.0) is None
    near(reference_mv(REF_AGCL_SAT, 25.0) - reference_mv(REF_AGCL_3M, 25.0), -8.0, 1e-9)


def test_two_point_recovers_slope_and_offset():
    pts = [phcal.point(4010, MV_401, 25.0), phcal.point(1680, MV_168, 25.0)]
    cal, verdict = phcal.fit(pts, phcal.PhCal())
    near(cal.slope_pct, 97.0, 0.1)
    near(cal.offset_mv, 12.0, 0.05)
    assert verdict == GOOD
    near(cal.ph(MV_168, 25.0), 1.68, 0.001)
    near(slope_mv(25.0, cal.slope_pct), 57.38, 0.06)  # the slope referred to 25 degC


def test_two_point_with_buffers_at_different_temperatures():
    # 95 %, -8 mV; 1.68 at 20 degC (pH 1.680) and 4.01 at 30 degC (pH 4.012).
    pts = [phcal.point(1680, 285.9766, 20.0), phcal.point(4010, 162.7456, 30.0)]
    cal, verdict = phcal.fit(pts, phcal.PhCal())
    near(cal.slope_pct, 95.0, 0.001)
    near(cal.offset_mv, -8.0, 0.001)
    assert verdict == GOOD


def test_one_point_keeps_the_slope_in_force():
    keep = phcal.PhCal(97.0, 12.0)
    cal, verdict = phcal.fit([phcal.point(1680, MV_168 + 8.0, 25.0)], keep)
    near(cal.slope_pct, 97.0, 1e-9)
    near(cal.offset_mv, 20.0, 0.01)
    assert verdict == WARN  # beyond +-15 mV


def test_three_point_is_piecewise():
    # Acid line 97 %/+12 mV; alkaline 93 % through the 4.01 point: 7.00 reads 19.08 mV.
    pts = [phcal.point(b, mv, 25.0) for b, mv in ((7000, 19.08), (1680, MV_168), (4010, MV_401))]
    cal, verdict = phcal.fit(pts, phcal.PhCal())
    near(cal.slope_pct, 97.0, 0.1)
    near(cal.offset_mv, 12.0, 0.05)
    near(cal.alk_slope_pct, 93.0, 0.1)
    near(cal.alk_offset_mv, 19.08, 0.05)
    assert verdict == WARN  # the alkaline line's offset is beyond +-15 mV
    for b, mv in ((1680, MV_168), (4010, MV_401), (7000, 19.08)):
        near(cal.ph(mv, 25.0), buffer_ph(b, 25.0), 0.001)
    same = phcal.from_fit(cal.fit_values())
    near(same.ph(100.0, 35.0), cal.ph(100.0, 35.0), 1e-9)


def test_fit_refuses_buffers_too_close_or_too_many():
    keep = phcal.PhCal()
    assert phcal.fit([phcal.point(6860, 8.0, 25.0), phcal.point(7000, 0.0, 25.0)], keep) == (
        None,
        REJECT,
    )
    assert phcal.fit([], keep) == (None, REJECT)
    assert phcal.point(1234, 0.0, 25.0) is None


def test_health_boundaries():
    assert phcal.health(85.0, 0.0) == WARN and phcal.health(84.99, 0.0) == REJECT
    assert phcal.health(105.0, 0.0) == GOOD and phcal.health(105.01, 0.0) == REJECT
    assert phcal.health(92.0, 0.0) == GOOD and phcal.health(91.99, 0.0) == WARN
    assert phcal.health(100.0, 30.0) == WARN and phcal.health(100.0, -30.01) == REJECT
    assert phcal.health(100.0, -15.0) == GOOD and phcal.health(100.0, 15.01) == WARN
    _cal, verdict = phcal.fit(
        [phcal.point(1680, MV_168 + 20.0, 25.0), phcal.point(4010, MV_401 + 20.0, 25.0)],
        phcal.PhCal(),
    )
    assert verdict == REJECT  # +32 mV


def _noise(i):
    # Deterministic +-0.2 mV noise (no random module needed on both runtimes).
    return ((i * 7919) % 401 - 200) / 1000.0


def _settle(reading, tau_s, tol, limit_s):
    # (seconds of 1 s samples until Steady says steady or None if not within limit_s, the
    # value it would take).
    st = Steady(tau_s, tol)
    for t in range(1, limit_s + 1):
        if st.update(reading(t), 1.0):
            return t, st.value
    return None, None


def test_steady_accepts_a_settled_first_order_approach():
    # A 140 mV step through a 10 s lag: 183.81 + 140 e^(-t/10).
    tau = 10.0

    def approach(t):
        return MV_401 + 140.0 * 2.718281828 ** (-t / tau) + _noise(t)

    t, value = _settle(approach, tau, 0.5, 300)
    assert t is not None and 5 * tau <= t <= 8 * tau, t
    assert 140.0 * 2.718281828 ** (-t / tau) < 0.5  # what is left of the step
    # The point is the mean of the last tau of readings: the noise averaged away, the lag of
    # that mean within tol / 2.
    assert abs(value - MV_401) < 0.25 + 0.1, value


def test_steady_takes_the_mean_not_one_noisy_reading():
    # A settled electrode whose last reading is 2 mV off (a spike the window's means absorb).
    def spiky(t):
        return MV_401 + (2.0 if t % 20 == 0 else 0.0)

    t, value = _settle(spiky, 10.0, 0.5, 300)
    assert t is not None and t % 20 == 0, t  # (accepted on a spike: the window's last bucket)
    assert abs(value - MV_401) <= 0.2, value


def test_steady_rejects_a_drifting_reading():
    def drifting(t):  # 0.1 pH/min on a settled electrode
        return MV_401 + 5.9 * t / 60.0 + _noise(t)

    assert _settle(drifting, 10.0, 0.5, 1200) == (None, None)
    st = Steady(10.0, 0.5)
    st.update(1.0, 30.0)
    assert st.residual is None  # the window is not full yet
    for _ in range(4):
        st.update(1.0, 5.0)
    assert st.residual == 0.0
    st.reset()
    assert st.residual is None


def test_orp_on_she_and_offset_calibration():
    # A Pt electrode against saturated KCl Ag/AgCl (199 mV at 25 degC [S50]) reading 572 mV:
    # 771 mV SHE, Fe3+/Fe2+ = 1 at the standard potential (docs/references.md §1.2).
    near(orp.she_mv(572.0, 25.0, REF_AGCL_SAT), 771.0, 1e-9)
    near(orp.fe_ratio(771.0, 25.0, orp.E0_FE_MV), 1.0, 1e-9)
    near(orp.fe_ratio(830.16, 25.0, orp.E0_FE_MV), 10.0, 0.01)  # 59.16 mV per decade
    near(orp.fe_ratio(680.0 - 2 * slope_mv(40.0), 40.0), 0.01, 1e-6)
    assert orp.fe_ratio(1e6, 25.0) == 1e30  # a wild reading is a huge ratio, not an error
    # Quinhydrone in 4.01 at 25 degC: 257.6 mV against 3.5 M KCl (205 mV) = 462.6 mV SHE;
    # against a 3 M KCl reference (207 mV) it reads 255.6 mV. Reading 263.6: +8 mV.
    off = orp.offset(263.6, 4010, 25.0, REF_AGCL_3M)
    near(off, 8.0, 1e-9)
    assert orp.health(off) == GOOD
    near(orp.she_mv(263.6, 25.0, REF_AGCL_3M, off), 462.6, 1e-9)
    assert orp.health(-15.01) == WARN and orp.health(50.0) == WARN
    assert orp.health(50.01) == REJECT
    assert orp.offset(263.6, 9999, 25.0, REF_AGCL_3M) is None
    assert orp.she_mv(0.0, 25.0, 7) is None


def test_pump_calibration_worked_example():
    # Nominal 5 mL/min: a 20 mL run is 240 s of on-time; the cylinder shows 20.6 mL, so the
    # pump gives 5.15 mL/min (+3 %), and 1 mL takes 11650 ms instead of 12000 ms.
    assert pumpcal.run_ms(20.0, 5.0) == 240000
    rate = pumpcal.rate_ml_per_min(240000, 20.6)
    near(rate, 5.15, 1e-9)
    assert pumpcal.health(rate, 5.0) == GOOD
    assert pumpcal.on_ms(1000, rate) == 11650
    assert pumpcal.volume_ul(11650, rate) == 1000
    assert pumpcal.health(5.6, 5.0) == WARN and pumpcal.health(3.9, 5.0) == REJECT
    assert pumpcal.rate_ml_per_min(0, 20.0) is None
    assert pumpcal.rate_ml_per_min(240000, 0.0) is None


def _ph_record():
    cal, verdict = phcal.fit(
        [phcal.point(1680, MV_168, 25.0), phcal.point(4010, MV_401, 25.0)], phcal.PhCal()
    )
    pts = [phcal.point(1680, MV_168, 25.0), phcal.point(4010, MV_401, 25.0)]
    return calrecord.make(
        calrecord.KIND_PH, pts, cal.fit_values(), verdict, 1700000000, 600, calrecord.LIFE_H
    )


def test_record_validates_and_rechecks_its_fit():
    rec = _ph_record()
    assert calrecord.validate(rec) is rec and rec["health"] == GOOD
    near(phcal.from_fit(rec["fit"]).slope_pct, 97.0, 0.1)
    pump = calrecord.make(calrecord.KIND_PUMP, [[240000, 20.6, 5.0]], [5.15], GOOD, 0, 0, 720)
    orp_rec = calrecord.make(calrecord.KIND_ORP, [[255.6, 263.6, 25.0]], [8.0], WARN, 0, 0, 0)
    assert calrecord.validate(orp_rec)["health"] == GOOD  # re-derived, not trusted
    assert calrecord.validate_set({"v0_ph": _ph_record(), "v0_acid": pump})
    bad = []
    for key, value in (
        ("fit", [0.0, 0.0, 0.0, 0.0, 7.0]),  # slope 0: would divide by zero
        ("fit", [97.0, 40.0, 97.0, 40.0, 7.0]),  # a rejected calibration
        ("fit", [97.0, 12.0]),
        ("kind", 9),
        ("pts", []),
        ("pts", [[1.68, "317", 25.0]]),
        ("op_min", -1),
        ("wall_s", True),
        ("life_h", 1.5),
    ):
        rec = _ph_record()
        rec[key] = value
        try:
            calrecord.validate(rec)
        except ValueError:
            continue
        bad.append(key)
    assert bad == []
    rec = _ph_record()
    del rec["life_h"]
    for broken in (rec, [1], None):
        try:
            calrecord.validate(broken)
            bad.append(broken)
        except ValueError:
            pass
    assert bad == []


def test_record_expiry_by_operating_time_or_wall_time():
    rec = _ph_record()  # at 600 operating minutes and wall 1700000000, holds 720 h
    assert not health.expired(rec, 600 + 720 * 60 - 1, 0)
    assert health.expired(rec, 600 + 720 * 60, 0)  # no host needed
    assert health.expired(rec, 700, 1700000000 + 720 * 3600)
    assert not health.expired(rec, 700, 1700000000 + 720 * 3600 - 1)
    rec["wall_s"] = 0  # calibrated without host time: only operating time counts
    assert not health.expired(rec, 700, 1800000000)
    rec["life_h"] = 0
    assert not health.expired(rec, 10**8, 1800000000)
