"""Physics checks of the vessel plant against the numbers in docs/references.md §1."""

import math

import pytest

from sim.vessel import (
    DEFAULTS,
    VesselPlant,
    buffer_capacity_m,
    cardinal,
    charge_excess_m,
    solve_h,
)

K2 = 0.0113
KW = 1e-14
# No reactions: only dosing, mixing and heat act (biomass, pyrite and carbonate removed).
INERT = {"biomass_cells_per_ml": 0.0, "pyrite_mol": 0.0, "carbonate_mol": 0.0}
NO_LAG = {"heater_tau_s": 0.0, "well_tau_s": 0.0}  # the bare heat balance


def inert(**overrides):
    params = dict(INERT)
    params.update(overrides)
    return VesselPlant(params)


def run(plant, seconds, dt_s=1.0):
    for _ in range(int(round(seconds / dt_s))):
        plant.step(dt_s)


def h_of(ph):
    return 10.0**-ph


# §1.3 table: S_T -> (H+ to go pH 2.0 -> 1.8, β near pH 1.9), mol/L.
BUFFER_TABLE = [
    (0.0, 0.0058, 0.029),
    (0.05, 0.0116, 0.058),
    (0.1, 0.0173, 0.086),
    (0.2, 0.0287, 0.144),
    (0.5, 0.063, 0.315),
]


@pytest.mark.parametrize("sulfate_m, acid_m, beta", BUFFER_TABLE)
def test_acid_to_move_ph_and_buffer_capacity_match_table(sulfate_m, acid_m, beta):
    moved = charge_excess_m(h_of(1.8), sulfate_m, K2, KW) - charge_excess_m(
        h_of(2.0), sulfate_m, K2, KW
    )
    assert moved == pytest.approx(acid_m, rel=0.01)
    assert buffer_capacity_m(h_of(1.9), sulfate_m, K2, KW) == pytest.approx(beta, rel=0.01)


def test_buffer_capacity_is_slope_of_charge_balance():
    d_ph = 1e-5
    slope = (
        charge_excess_m(h_of(1.9 - d_ph), 0.2, K2, KW)
        - charge_excess_m(h_of(1.9 + d_ph), 0.2, K2, KW)
    ) / (2 * d_ph)
    assert buffer_capacity_m(h_of(1.9), 0.2, K2, KW) == pytest.approx(slope, rel=1e-6)


@pytest.mark.parametrize("ph", [0.3, 1.0, 1.7, 2.5, 4.0, 7.0, 11.0, 13.0])
@pytest.mark.parametrize("guess", [1.0, 1e-13])
def test_solve_h_inverts_charge_balance_from_a_far_guess(ph, guess):
    acid_m = charge_excess_m(h_of(ph), 0.2, K2, KW)
    assert solve_h(acid_m, 0.2, K2, KW, guess) == pytest.approx(h_of(ph), rel=1e-9)


def test_initial_ph_holds_without_inputs():
    plant = inert(ph0=1.7)
    run(plant, 600)
    assert plant.ph == pytest.approx(1.7, abs=1e-9)


def test_base_dose_raises_ph_by_dose_over_buffer_capacity():
    plant = inert(ph0=1.9)
    plant.base_ml_per_min = 10.0
    run(plant, 60)
    plant.base_ml_per_min = 0.0
    run(plant, 600)  # 20 mixing time constants
    dose_m = 0.010 * DEFAULTS["base_m"] / plant.volume_l
    expected = dose_m / buffer_capacity_m(h_of(1.9035), 0.2, K2, KW)
    assert plant.ph - 1.9 == pytest.approx(expected, rel=0.02)
    assert plant.volume_l == pytest.approx(10.010, abs=1e-9)
    assert plant.base_added_ml == pytest.approx(10.0, rel=1e-9)


def test_sulfuric_acid_dose_is_partly_taken_up_as_bisulfate():
    # 2 eq/L alone would predict -0.0139 pH; the added sulfate binds h/(h+K2) of a proton
    # per mol, so the model must move less (finding reported in docs/plant-models.md).
    plant = inert(ph0=1.9)
    plant.acid_ml_per_min = 10.0
    run(plant, 60)
    plant.acid_ml_per_min = 0.0
    run(plant, 600)
    h = h_of(1.895)
    acid_mol = 0.010 * DEFAULTS["acid_m"]
    effective_m = (2.0 - h / (h + K2)) * acid_mol / plant.volume_l
    expected = -effective_m / buffer_capacity_m(h, 0.2, K2, KW)
    assert plant.ph - 1.9 == pytest.approx(expected, rel=0.02)
    assert plant.acid_added_ml == pytest.approx(10.0, rel=1e-9)


def test_dose_reaches_the_bulk_through_the_mixing_lag():
    plant = inert(ph0=1.9)
    plant.base_ml_per_min = 600.0  # 10 mL in one 1 s pulse
    run(plant, 1.0, dt_s=0.1)
    plant.base_ml_per_min = 0.0
    run(plant, DEFAULTS["mix_tau_s"] - 1.0, dt_s=0.1)
    after_tau = plant.ph - 1.9
    run(plant, 600)
    assert after_tau / (plant.ph - 1.9) == pytest.approx(1.0 - math.exp(-1.0), abs=0.02)


@pytest.mark.parametrize("temp_c, slope_mv", [(25.0, 59.16), (40.0, 62.14)])
def test_orp_nernst_slope_per_decade(temp_c, slope_mv):
    one = inert(temp0_c=temp_c, fe2_0_g_per_l=1.0, fe3_0_g_per_l=1.0)
    ten = inert(temp0_c=temp_c, fe2_0_g_per_l=1.0, fe3_0_g_per_l=10.0)
    assert ten.orp_mv_she - one.orp_mv_she == pytest.approx(slope_mv, abs=0.01)


# §1.2 Nernst table, E0 0.771 V: ratio -> (mV SHE 25 °C, mV vs Ag/AgCl sat 25 °C, mV SHE 40 °C)
NERNST_TABLE = [
    (0.01, 652.7, 453.7, 646.7),
    (1.0, 771.0, 572.0, 771.0),
    (100.0, 889.3, 690.3, 895.3),
    (1000.0, 948.5, 749.5, 957.4),
]


@pytest.mark.parametrize("ratio, she_25, agcl_25, she_40", NERNST_TABLE)
def test_orp_matches_nernst_table(ratio, she_25, agcl_25, she_40):
    at_25 = inert(temp0_c=25.0, fe2_0_g_per_l=0.1, fe3_0_g_per_l=0.1 * ratio)
    at_40 = inert(temp0_c=40.0, fe2_0_g_per_l=0.1, fe3_0_g_per_l=0.1 * ratio)
    assert at_25.orp_mv_she == pytest.approx(she_25, abs=0.06)
    assert at_25.orp_mv_agcl == pytest.approx(agcl_25, abs=0.06)
    assert at_40.orp_mv_she == pytest.approx(she_40, abs=0.06)


@pytest.mark.parametrize("temp_c, eref_mv", [(15.0, 209.0), (35.0, 189.0)])
def test_orp_reference_follows_agcl_table(temp_c, eref_mv):
    plant = inert(temp0_c=temp_c, fe2_0_g_per_l=1.0, fe3_0_g_per_l=1.0)
    assert plant.orp_mv_she - plant.orp_mv_agcl == pytest.approx(eref_mv, abs=1e-9)


def test_formal_potential_parameter_shifts_orp():
    plant = inert(temp0_c=25.0, fe2_0_g_per_l=1.0, fe3_0_g_per_l=1.0, e0_v=0.68)
    assert plant.orp_mv_agcl == pytest.approx(481.0, abs=0.01)


def minutes_to_reach(plant, temp_c):
    seconds = 0
    while plant.temp_c < temp_c:
        plant.step(1.0)
        seconds += 1
        assert seconds < 5 * 3600, "never reached"
    return seconds / 60.0


def test_heater_heats_10_l_from_20_to_45_c_in_58_min_without_losses():
    plant = inert(ua_w_per_k=0.0, **NO_LAG)
    plant.heater_w = 300.0
    assert minutes_to_reach(plant, 45.0) == pytest.approx(58.2, abs=0.3)


def test_losses_lengthen_heat_up_as_the_first_order_solution_predicts():
    plant = inert(**NO_LAG)
    plant.heater_w = 300.0
    c_j_per_k = 4190.0 * 10.0
    expected_min = c_j_per_k / 2.0 * math.log(300.0 / (300.0 - 2.0 * 25.0)) / 60.0
    assert minutes_to_reach(plant, 45.0) == pytest.approx(expected_min, abs=0.3)
    assert expected_min > 63.0


def test_steady_loss_is_40_w_at_20_k_above_ambient():
    plant = inert(temp0_c=40.0, **NO_LAG)
    plant.ambient_c = 20.0
    plant.heater_w = 40.0
    run(plant, 10 * 3600, dt_s=10.0)
    assert plant.temp_c == pytest.approx(40.0, abs=1e-6)
    plant.heater_w = 0.0
    run(plant, 60)
    assert plant.temp_c - 40.0 == pytest.approx(-40.0 * 60 / (4190.0 * 10.0), rel=0.01)


def test_the_element_delays_the_heat_up_by_its_time_constant():
    # A ramp through a first-order lag arrives tau later; the energy drawn is the same.
    bare = inert(ua_w_per_k=0.0, **NO_LAG)
    lagged = inert(ua_w_per_k=0.0, heater_tau_s=60.0, well_tau_s=0.0)
    for plant in (bare, lagged):
        plant.heater_w = 300.0
    assert minutes_to_reach(lagged, 45.0) - minutes_to_reach(bare, 45.0) == pytest.approx(
        1.0, abs=0.05)
    # Switched off, the element still gives what it stored: tau x power.
    plant = inert(ua_w_per_k=0.0, temp0_c=30.0, heater_tau_s=60.0, well_tau_s=0.0)
    plant.heater_w = 300.0
    run(plant, 600)
    at_off = plant.temp_c
    plant.heater_w = 0.0
    run(plant, 900)
    assert plant.temp_c - at_off == pytest.approx(300.0 * 60.0 / (4190.0 * 10.0), rel=0.01)
    assert plant.heater_wh == pytest.approx(300.0 * 600 / 3600, rel=1e-9)


def test_the_thermowell_follows_the_broth_with_its_lag():
    plant = inert(ua_w_per_k=0.0, temp0_c=30.0, heater_tau_s=0.0, well_tau_s=30.0)
    plant.temp_c = 40.0  # a step of the broth
    run(plant, 30)
    assert plant.well_c == pytest.approx(40.0 - 10.0 * math.exp(-1.0), abs=0.01)
    run(plant, 300)
    assert plant.well_c == pytest.approx(40.0, abs=0.01)


def oxidiser(**overrides):
    # Optimal temperature and pH and full aeration, so the activity factor is 1.
    params = {
        "pyrite_mol": 0.0,
        "carbonate_mol": 0.0,
        "temp0_c": 32.0,
        "ph0": 2.0,
        "fe2_0_g_per_l": 5.0,
        "fe3_0_g_per_l": 0.0,
        "ua_w_per_k": 0.0,
    }
    params.update(overrides)
    return VesselPlant(params)


def test_fe2_oxidation_rate_follows_molchanov_monod():
    plant = oxidiser()
    run(plant, 60)
    s_mg = 5000.0
    # (μmax/Y)·S·X/(Ks + S) with X = 1e8 cells/mL: ≈ 0.36 g/L/h at saturation (§1.6)
    rate_g_per_l_h = 0.082 / 2.3e7 * 1e8 * 1000.0 * s_mg / (31.0 + s_mg) / 1000.0
    assert 5.0 - plant.fe2_g_per_l == pytest.approx(rate_g_per_l_h / 60.0, rel=0.01)
    assert plant.fe2_g_per_l + plant.fe3_g_per_l == pytest.approx(5.0, rel=1e-12)


def test_ferric_iron_inhibits_competitively():
    free = oxidiser(fe2_0_g_per_l=0.1)
    inhibited = oxidiser(fe2_0_g_per_l=0.1, fe3_0_g_per_l=1.39)
    run(free, 60)
    run(inhibited, 60)
    ratio = (0.1 - inhibited.fe2_g_per_l) / (0.1 - free.fe2_g_per_l)
    assert ratio == pytest.approx((31.0 + 100.0) / (31.0 * 11.0 + 100.0), rel=0.01)


def test_fe2_oxidation_consumes_one_proton_per_iron():
    plant = oxidiser()
    run(plant, 1200)
    oxidised_m = (5.0 - plant.fe2_g_per_l) / 55.845
    beta = buffer_capacity_m(h_of(2.0 + 0.5 * (plant.ph - 2.0)), 0.2, K2, KW)
    assert plant.ph - 2.0 == pytest.approx(oxidised_m / beta, rel=0.02)


def test_temperature_model_reproduces_lacey_lawson_ratio_and_stops_above_t_max():
    p = DEFAULTS
    ratio = cardinal(20.0, p["t_min_c"], p["t_opt_c"], p["t_max_c"], 2) / cardinal(
        31.0, p["t_min_c"], p["t_opt_c"], p["t_max_c"], 2
    )
    assert ratio == pytest.approx(0.12 / 0.20, abs=0.02)  # [S14]
    hot = oxidiser(temp0_c=47.0)
    run(hot, 3600, dt_s=10.0)
    assert hot.fe2_g_per_l == 5.0
    assert hot.biomass_cells_per_ml == pytest.approx(1e8 * math.exp(-0.5), rel=0.01)


def test_closing_the_air_valve_slows_oxidation_to_the_unaerated_share():
    aerated = oxidiser()
    starved = oxidiser()
    starved.aeration = False
    run(aerated, 3600, dt_s=10.0)
    run(starved, 3600, dt_s=10.0)
    before_a, before_s = aerated.fe2_g_per_l, starved.fe2_g_per_l
    run(aerated, 60)
    run(starved, 60)
    share = (before_s - starved.fe2_g_per_l) / (before_a - aerated.fe2_g_per_l)
    assert share == pytest.approx(0.1 + 0.9 * math.exp(-6.0), abs=0.01)


def test_carbonate_gangue_consumes_two_protons_per_caco3_at_start_up():
    plant = inert(carbonate_mol=0.5, ph0=1.8, max_step_s=60.0)
    run(plant, 3 * 3600, dt_s=60.0)
    assert plant.ph > 1.8 + 0.3  # net acid-consuming early phase (§1.3)
    run(plant, 21 * 3600, dt_s=60.0)
    reacted_mol = 0.5 - plant.carbonate_mol
    assert reacted_mol > 0.95 * 0.5  # reacts within the first day
    # Independent closed form: h² + h·(K2 + S − D) − D·K2 = 0 with D −2 and S −1 per CaCO3.
    h0 = h_of(1.8)
    d = h0 + 0.2 * h0 / (h0 + K2) - 2.0 * reacted_mol / 10.0
    s = 0.2 - reacted_mol / 10.0
    b = K2 + s - d
    h = (-b + math.sqrt(b * b + 4.0 * d * K2)) / 2.0
    assert plant.ph == pytest.approx(-math.log10(h), abs=1e-6)


@pytest.mark.parametrize("h_per_fes2", [2.5, 4.0])
def test_pyrite_oxidation_acidifies_by_n_minus_bisulfate_per_fes2(h_per_fes2):
    plant = oxidiser(pyrite_mol=4.17, pyrite_h_per_fes2=h_per_fes2, fe2_0_g_per_l=0.0)
    run(plant, 3600)  # let the released Fe2+ reach its oxidation steady state
    ph_1h = plant.ph
    run(plant, 2 * 3600)
    drift_per_h = (plant.ph - ph_1h) / 2.0
    h = h_of(ph_1h + drift_per_h)
    rate_m_per_h = 1.5e-3 * 4.17 / 10.0
    expected = (
        -(h_per_fes2 - 2.0 * h / (h + K2)) * rate_m_per_h / buffer_capacity_m(h, 0.2, K2, KW)
    )
    assert drift_per_h == pytest.approx(expected, rel=0.05)
    assert -0.015 < drift_per_h < 0.0  # inside the §1.3 worked-example band


def test_unknown_parameter_is_rejected():
    with pytest.raises(ValueError):
        VesselPlant({"volume_L": 5.0})
