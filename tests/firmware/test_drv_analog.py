# NTC and ratiometric conversions (pure): beta / Steinhart-Hart, fault bands.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
import math

from fwcheck import near, raises

from drivers import fault
from drivers.analog import NTC, Ratiometric, ratio

SUPPLY_MV = 3300.0


def node_mv(ntc_ohm, series_ohm=10000.0, side="low"):
    # Divider output for a given NTC resistance.
    if side == "low":
        return SUPPLY_MV * ntc_ohm / (series_ohm + ntc_ohm)
    return SUPPLY_MV * series_ohm / (series_ohm + ntc_ohm)


def beta_ohm(t_c, r0_ohm=10000.0, beta_k=3950.0):
    return r0_ohm * math.exp(beta_k * (1 / (t_c + 273.15) - 1 / 298.15))


def test_ntc_beta_reads_25_c_at_r0_on_either_side():
    for side in ("low", "high"):
        ntc = NTC(10000.0, 10000.0, 3950.0, ntc_side=side)
        near(ntc.temp_c(node_mv(10000.0, side=side), SUPPLY_MV), 25.0, 1e-9)
        assert ntc.fault == fault.NONE


def test_ntc_beta_over_its_range():
    ntc = NTC(10000.0, 10000.0, 3950.0)
    for t_c in (-20.0, 0.0, 45.0, 65.0, 100.0):
        near(ntc.temp_c(node_mv(beta_ohm(t_c)), SUPPLY_MV), t_c, 1e-6)
    near(NTC(10000.0).r_ohm(0.25), 10000.0 / 3, 1e-6)  # R_s * r / (1 - r)


def test_ntc_steinhart_hart_replaces_beta():
    # Published 10 k coefficient set [S62b]: 1/T(10 kohm) = 3.3540e-3 1/K, i.e. 25.0 degC
    ntc = NTC(10000.0, sh=(1.129148e-3, 2.34125e-4, 8.76741e-8))
    near(ntc.temp_c(node_mv(10000.0), SUPPLY_MV), 25.0, 0.01)
    raises(ValueError, NTC, 10000.0, 10000.0, 3950.0, None, "middle")


def test_ntc_open_and_short():
    low, high = NTC(10000.0), NTC(10000.0, ntc_side="high")
    assert low.temp_c(0.995 * SUPPLY_MV, SUPPLY_MV) is None and low.fault == fault.OPEN
    assert low.temp_c(0.005 * SUPPLY_MV, SUPPLY_MV) is None and low.fault == fault.SHORT
    assert high.temp_c(0.995 * SUPPLY_MV, SUPPLY_MV) is None and high.fault == fault.SHORT
    assert high.temp_c(0.005 * SUPPLY_MV, SUPPLY_MV) is None and high.fault == fault.OPEN
    assert low.temp_c(1650.0, 50.0) is None and low.fault == fault.SIGNAL  # supply lost
    assert low.temp_c(None, SUPPLY_MV) is None and low.fault == fault.SIGNAL


def test_ratio_guards_the_supply():
    assert ratio(1000.0, 4000.0) == 0.25
    assert ratio(1000.0, 99.0) is None
    assert ratio(1000.0, None) is None


def test_ratiometric_maps_10_to_90_percent_onto_range():
    sensor = Ratiometric(0.0, 40.0)
    for r, bar in ((0.10, 0.0), (0.50, 20.0), (0.90, 40.0)):
        near(sensor.value(r * 5000.0, 5000.0), bar, 1e-9)
        assert sensor.fault == fault.NONE


def test_ratiometric_bands():
    # < 4 % or > 96 %: fault; 4-10 %: under-range; 90-96 %: over-range [S81b]
    sensor = Ratiometric(0.0, 40.0)
    for r, bar, code in (
        (0.039, None, fault.SIGNAL),
        (0.04, -3.0, fault.UNDER_RANGE),
        (0.099, -0.05, fault.UNDER_RANGE),
        (0.901, 40.05, fault.OVER_RANGE),
        (0.96, 43.0, fault.OVER_RANGE),
        (0.961, None, fault.SIGNAL),
    ):
        value = sensor.value(r * 5000.0, 5000.0)
        assert sensor.fault == code, (r, sensor.fault)
        if bar is None:
            assert value is None
        else:
            near(value, bar, 1e-6)
    assert sensor.value(2500.0, 0.0) is None and sensor.fault == fault.SIGNAL


def test_hard_and_soft_faults():
    assert not fault.is_hard(fault.NONE)
    for code in (fault.BUS, fault.CRC, fault.SIGNAL, fault.RANGE):
        assert fault.is_hard(code)
    assert not fault.is_hard(fault.UNDER_RANGE) and not fault.is_hard(fault.OVER_RANGE)
