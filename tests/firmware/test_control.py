# Pure control math: PID, pH conversion and dosing policy, budgets, debounce.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from fwcheck import near

from control.budget import DoseBudget, RollingSum
from control.ph import ph_from_mv, slope_mv
from control.pid import PID
from control.tiers import Debounce


def test_pid_clamps_and_does_not_wind_up():
    pid = PID(10.0, 1.0, out_min=0.0, out_max=100.0)
    for _ in range(1000):  # far below the set point for a long time: saturated high
        assert pid.update(20.0, 35.0, 1.0) == 100.0
    assert pid.integral <= 100.0
    # Past the set point the output must fall at once, not after unwinding 1000 s of error.
    assert pid.update(36.0, 35.0, 1.0) < 100.0 - 10.0 + 1e-9
    assert pid.update(80.0, 35.0, 1.0) == 0.0


def test_pid_integrates_to_remove_offset():
    pid = PID(0.0, 0.5)
    out = 0.0
    for _ in range(10):
        out = pid.update(34.0, 35.0, 2.0)
    near(out, 10.0, 1e-9)  # 0.5 %/(K s) x 1 K x 20 s
    pid.set_limits(0.0, 5.0)
    assert pid.update(34.0, 35.0, 2.0) == 5.0 and pid.integral <= 5.0
    pid.reset()
    assert pid.integral == 0.0


def test_pid_derivative_acts_on_measurement_only():
    pid = PID(0.0, 0.0, kd=2.0, out_min=-100.0)
    pid.update(30.0, 35.0, 1.0)
    assert pid.update(30.0, 50.0, 1.0) == 0.0  # set-point step: no kick
    near(pid.update(31.0, 50.0, 1.0), -2.0, 1e-9)


def test_nernst_slope_and_ph():
    near(slope_mv(25.0), 59.16, 0.01)  # docs/references.md §2.1
    near(slope_mv(45.0), 63.13, 0.01)
    near(ph_from_mv(0.0, 25.0), 7.0, 1e-9)
    mv = -slope_mv(45.0) * (1.7 - 7.0)
    near(ph_from_mv(mv, 45.0), 1.7, 1e-9)
    # With a 25 degC slope at 45 degC the reading would be ~0.36 pH low (docs/references.md §2.1).
    near(ph_from_mv(mv, 25.0), 1.34, 0.01)
    near(ph_from_mv(mv + 10.0, 45.0, offset_mv=10.0), 1.7, 1e-9)


def test_rolling_sum_forgets_after_the_window():
    r = RollingSum(12, 300000)
    r.add(100)
    r.advance(54 * 60000)
    assert r.total == 100
    r.advance(6 * 60000)
    assert r.total == 0
    r.add(5)
    r.advance(10**9)  # longer than the window in one step
    assert r.total == 0


def test_dose_budget_hour_and_day_forget_no_earlier_than_their_span():
    b = DoseBudget()
    b.add(1000)
    b.advance(3600000)
    assert b.hour.total == 1000  # 60 to 65 min
    b.advance(300000)
    assert b.hour.total == 0 and b.day.total == 1000  # the hour forgot, the day did not
    b.advance(23 * 3600000)
    assert b.day.total == 1000  # 24 to 25 h
    b.advance(3600000)
    assert b.day.total == 0


def test_debounce_counts_both_ways():
    d = Debounce(3)
    assert not d.update(True) and not d.update(True) and d.update(True)
    assert d.update(False) and d.update(True)  # a good sample alone does not clear
    assert d.update(False) and d.update(False) and d.update(False) is False
