"""Physics checks of the LaNi5 canister plant against docs/references.md §4."""

import math

import pytest

from sim.ambient import DailyAmbient
from sim.canister import DEFAULTS, CanisterPlant, pct_bar

A_ABS = DEFAULTS["a_abs"]
A_DES = DEFAULTS["a_des"]
B_K = DEFAULTS["b_k"]


def run(plant, seconds, dt_s=0.1):
    for _ in range(int(round(seconds / dt_s))):
        plant.step(dt_s)


def plateau_bar(a, t_c):
    return pct_bar(a, DEFAULTS["phi"], B_K, t_c + 273.15, 0.5)


# §4.1 plateau table from [S64], bar abs (printed to 3 significant figures).
PLATEAU_TABLE = [
    (0, 0.57, 0.50),
    (10, 0.92, 0.81),
    (20, 1.44, 1.27),
    (25, 1.78, 1.56),
    (30, 2.19, 1.92),
    (40, 3.23, 2.84),
    (50, 4.66, 4.09),
    (60, 6.57, 5.77),
    (70, 9.09, 7.98),
    (80, 12.3, 10.8),
    (90, 16.5, 14.5),
    (100, 21.6, 19.0),
]


@pytest.mark.parametrize("t_c, p_abs, p_des", PLATEAU_TABLE)
def test_plateau_pressures_match_table(t_c, p_abs, p_des):
    assert plateau_bar(A_ABS, t_c) == pytest.approx(p_abs, rel=0.005)
    assert plateau_bar(A_DES, t_c) == pytest.approx(p_des, rel=0.005)


def test_canister_at_rest_sits_on_the_desorption_plateau():
    plant = CanisterPlant({"temp0_c": 25.0})
    plant.ambient_c = 25.0
    run(plant, 600)
    assert plant.pressure_bar == pytest.approx(1.56, rel=0.005)
    assert plant.soc == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("t_c", [0.0, 25.0, 60.0, 100.0])
@pytest.mark.parametrize("soc", [0.1, 0.5, 0.9])
def test_hysteresis_ratio_is_exp_0_13(t_c, soc):
    t_k = t_c + 273.15
    ratio = pct_bar(A_ABS, 0.03, B_K, t_k, soc) / pct_bar(A_DES, 0.03, B_K, t_k, soc)
    assert math.log(ratio) == pytest.approx(0.13, abs=1e-12)


def test_plateau_pressure_doubles_per_16_6_k_near_room_temperature():
    # Local slope d(ln P)/dT = ΔH/(R·T²) at 298 K (§4.1, consistent with [S67]).
    d_ln_p_per_k = math.log(plateau_bar(A_ABS, 25.1) / plateau_bar(A_ABS, 24.9)) / 0.2
    assert math.log(2.0) / d_ln_p_per_k == pytest.approx(16.6, abs=0.1)
    assert DEFAULTS["dh_j_per_mol"] == pytest.approx(30800.0, rel=0.001)


def test_plateau_slope_raises_pressure_with_soc():
    low = pct_bar(A_ABS, 0.03, B_K, 298.15, 0.2)
    high = pct_bar(A_ABS, 0.03, B_K, 298.15, 0.8)
    assert math.log(high / low) == pytest.approx(0.06 * math.tan(0.3 * math.pi), rel=1e-12)


@pytest.mark.parametrize("pressure_factor", [2.0, 0.5])
def test_intrinsic_rates_follow_darzi_rate_laws(pressure_factor):
    # [S64]: abs C_a·exp(−E_a/RT)·ln(P/P_a)·(1 − soc), des C_d·exp(−E_d/RT)·(P − P_d)/P_d·soc
    t_k = 298.15
    p_a = pct_bar(A_ABS, 0.03, B_K, t_k, 0.5)
    p_d = pct_bar(A_DES, 0.03, B_K, t_k, 0.5)
    p0 = (p_a if pressure_factor > 1.0 else p_d) * pressure_factor
    plant = CanisterPlant({"temp0_c": 25.0, "p0_bar": p0})
    dt_s = 1e-4  # short against the 0.2 s gas time constant, so P stays ≈ p0
    plant.step(dt_s)
    r = 8.314462618
    if pressure_factor > 1.0:
        rate = 59.187 * math.exp(-21179.6 / (r * t_k)) * math.log(2.0) * 0.5
    else:
        rate = -9.57 * math.exp(-16473.0 / (r * t_k)) * 0.5 * 0.5
    assert (plant.soc - 0.5) / dt_s == pytest.approx(rate, rel=0.01)


def charger(**overrides):
    params = {"soc0": 0.05}
    params.update(overrides)
    plant = CanisterPlant(params)
    plant.inlet_open = True
    return plant


def test_uncooled_charge_heats_until_absorption_pressure_meets_supply():
    plant = charger(ua_w_per_k=0.0)
    plant.supply_bar = 10.0
    run(plant, 1800)
    # §4.1: absorption stops when P_eq,a(T) = supply -> 73 °C at 10 bar on the mid plateau.
    stall_mid_c = B_K / (A_ABS - math.log(10.0)) - 273.15
    assert stall_mid_c == pytest.approx(73.0, abs=0.5)
    tan_term = DEFAULTS["phi"] * math.tan(math.pi * (plant.soc - 0.5))
    stall_c = B_K / (A_ABS + tan_term - math.log(10.0)) - 273.15
    assert plant.shell_c == pytest.approx(stall_c, abs=0.5)
    soc = plant.soc
    run(plant, 600)
    assert abs(plant.soc - soc) < 1e-4  # stalled
    assert plant.pressure_bar == pytest.approx(10.0, abs=0.05)


def test_reaction_heat_is_30_8_kj_per_mol():
    # §4.2: 100 NL (4.46 mol) release 137 kJ. Uncooled, all of it stays in alloy + shell.
    plant = charger(ua_w_per_k=0.0)
    run(plant, 120)
    absorbed_nl = (plant.soc - 0.05) * 100.0
    heat_j = (plant.shell_c - 20.0) * (0.75 * 419.0 + DEFAULTS["shell_j_per_k"])
    assert absorbed_nl > 5.0
    assert heat_j / absorbed_nl == pytest.approx(137e3 / 100.0, rel=0.005)


def test_higher_supply_pressure_charges_faster():
    def minutes_to_90_percent(supply_bar):
        plant = charger()
        plant.supply_bar = supply_bar
        seconds = 0
        while plant.soc < 0.9:
            run(plant, 10.0, dt_s=0.25)
            seconds += 10
            assert seconds < 20 * 3600
        return seconds / 60.0

    at_10 = minutes_to_90_percent(10.0)
    at_20 = minutes_to_90_percent(20.0)
    assert at_20 < 0.8 * at_10  # [S64]: higher supply pressure -> faster charge


def test_pressure_of_a_closed_canister_follows_the_room_on_the_plateau():
    room = DailyAmbient(mean_c=25.0, swing_k=8.3, period_s=86400.0, peak_s=43200.0)
    plant = CanisterPlant({"temp0_c": room.at(0.0)})
    pressures = []
    for hour in range(48):
        for _ in range(360):
            plant.ambient_c = room.at(plant.t_s)
            plant.step(10.0)
        if hour >= 24:
            pressures.append(plant.pressure_bar)
    # A 16.6 K swing doubles the pressure; the lag and the hysteresis loop (warming follows
    # P_d, cooling waits for P_a) make the trace swing a little less.
    assert 1.6 < max(pressures) / min(pressures) < 2.0


def test_daily_ambient_peaks_at_peak_time():
    room = DailyAmbient(mean_c=20.0, swing_k=5.0, period_s=86400.0, peak_s=54000.0)
    assert room.at(54000.0) == pytest.approx(25.0, abs=1e-9)
    assert room.at(54000.0 - 43200.0) == pytest.approx(15.0, abs=1e-9)


def balance_error_nl(plant, stored0_nl, gas0_nl):
    into = plant.supplied_nl - plant.drawn_nl - plant.leaked_nl - plant.vented_nl
    held = plant.stored_nl - stored0_nl + plant.gas_nl - gas0_nl
    return into - held


def test_hydrogen_balance_closes_through_charge_fault_vent_and_discharge():
    plant = charger(failed_supply_bar=45.0)
    stored0, gas0 = plant.stored_nl, plant.gas_nl
    plant.supply_bar = 15.0
    plant.leak_nml_per_min_at_ref = 500.0
    run(plant, 1800)
    plant.regulator_failed = True
    run(plant, 1800)
    plant.inlet_open = False
    plant.ambient_c = 40.0
    plant.draw_nl_per_min = 2.0
    run(plant, 1800)
    for flow_nl in (plant.supplied_nl, plant.drawn_nl, plant.leaked_nl, plant.vented_nl):
        assert flow_nl > 0.1  # every path carried gas
    assert abs(balance_error_nl(plant, stored0, gas0)) < 1e-9 * plant.supplied_nl


def test_leak_shows_as_soc_loss_at_constant_temperature_not_as_pressure_loss():
    plant = CanisterPlant({"soc0": 0.5})
    stored0, gas0 = plant.stored_nl, plant.gas_nl
    p0 = plant.pressure_bar
    plant.leak_nml_per_min_at_ref = 200.0
    run(plant, 10 * 3600, dt_s=1.0)
    assert plant.soc < 0.5 - 0.02
    assert plant.leaked_nl == pytest.approx(100.0 * (0.5 - plant.soc), rel=0.01)
    assert abs(plant.pressure_bar / p0 - 1.0) < 0.02  # the plateau hides the loss
    assert abs(plant.shell_c - 20.0) < 0.5
    assert abs(balance_error_nl(plant, stored0, gas0)) < 1e-9 * plant.leaked_nl


def test_leak_flow_scales_with_gauge_pressure():
    plant = CanisterPlant({"p0_bar": DEFAULTS["leak_ref_bar"], "soc0": 0.5})
    plant.leak_nml_per_min_at_ref = 300.0
    run(plant, 0.01, dt_s=0.01)
    assert plant.leaked_nl * 1000.0 / (0.01 / 60.0) == pytest.approx(300.0, rel=0.01)


def test_failed_regulator_drives_pressure_above_30_bar():
    plant = charger(soc0=0.9)
    plant.supply_bar = 20.0
    run(plant, 600)
    assert plant.pressure_bar < 20.5
    plant.regulator_failed = True
    run(plant, 1800)
    assert plant.pressure_bar > 30.0
    assert plant.vented_nl == 0.0  # 32 bar [S68] stays below the 35 bar PRV


def test_prv_holds_35_bar_against_a_failed_open_regulator_and_reseats():
    plant = charger(soc0=0.9, failed_supply_bar=50.0)
    plant.regulator_failed = True
    run(plant, 600)
    assert plant.pressure_bar == pytest.approx(35.0, abs=0.5)
    assert plant.vented_nl > 10.0
    plant.inlet_open = False
    run(plant, 60)
    vented = plant.vented_nl
    run(plant, 600)
    assert plant.vented_nl == pytest.approx(vented, abs=1e-3)
    assert plant.pressure_bar < 35.0


def test_discharge_is_endothermic_and_starves_a_cold_consumer():
    cold = CanisterPlant({"soc0": 0.8})
    cold.draw_nl_per_min = 1.0
    run(cold, 1800, dt_s=0.5)
    assert cold.shell_c < 20.0 - 2.0
    assert cold.drawn_nl < 0.5 * 30.0  # P_d(20 °C) ≈ 1.3 bar is below the 1.5 bar consumer
    # Heat is what sustains a discharge: 1 NL/min needs ≈ 23 W, e.g. from a 45 °C water bath.
    bath = CanisterPlant({"soc0": 0.8, "temp0_c": 45.0, "ua_w_per_k": 20.0})
    bath.ambient_c = 45.0
    bath.draw_nl_per_min = 1.0
    run(bath, 1800, dt_s=0.5)
    assert bath.drawn_nl == pytest.approx(30.0, rel=0.01)
    assert bath.stored_nl == pytest.approx(80.0 - 30.0, abs=0.5)
    assert 45.0 - 2.0 < bath.shell_c < 45.0
