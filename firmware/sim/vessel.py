"""Bioleaching vessel plant for the virtual bench (runs in the MicroPython unix port and CPython).

Source tags [Sxx] and section numbers refer to docs/references.md; the full
derivation and the list of simplifications are in docs/plant-models.md.

State (all amounts in mol, so dosing that changes the volume needs no special case):
  sulfate_mol   total sulfate S_T·V (free SO4 2- + HSO4-)
  acid_eq_mol   net strong acid D·V = 2·S_T·V − Σ(charge of every cation except H+)
  fe2_mol, fe3_mol, pyrite_mol, carbonate_mol, biomass_cells_per_ml, temp_c, volume_l,
  acid/base reagent still in the mixing zone, o2_factor.

pH - charge balance with HSO4- ⇌ H+ + SO4 2-, K2 = 0.0113 [S102], concentrations (§1.3):
  h + S_T·h/(h + K2) − Kw/h = D          (h = [H+] mol/L, pH = −log10 h)
  The left side rises monotonically in h; it is solved by Newton warm-started from the last
  step (1-2 iterations per step). Its derivative gives β = ln10·(h + S_T·h·K2/(h+K2)² + Kw/h).

Reactions (§1.3 [S19][S19c]), each as its change of (D, S_T, Fe):
  Fe2+ bio-oxidation     Fe2+ + ¼O2 + H+ → Fe3+          D −1 per Fe (consumes 1 H+)
  pyrite oxidation       FeS2 → Fe + 2 SO4 + n H+ net    S +2; n = pyrite_h_per_fes2 (1..4):
                         a share (n−1)/3 of the Fe precipitates as Fe(OH)3/jarosite at once
                         (D +4), the rest enters as Fe2+ (D +2, then −1 when bio-oxidised)
  carbonate gangue       CaCO3 + H2SO4 → CaSO4·2H2O + CO2 (gypsum precipitates): D −2, S −1
  acid dose (H2SO4, c)   D +2c, S +c per litre mixed;  base dose (NaOH, c): D −c per litre
  Because the sulfate that comes with pyrite and H2SO4 binds protons as HSO4-, the pH moves
  less than "n H+ per FeS2" or "2 eq/L" alone suggest (docs/plant-models.md §pH).

Rates (explicit Euler; t in h inside the kinetics, as in [S13]):
  r_Fe = (μmax/Y)·S·X' / (Ks·(1 + P/Kp) + S) · a          mg Fe/L/h [S13], X' = cells/L
  dX/dt = Y·r_Fe/1000·(1 − X/X_cap) − k_hot·X·[T > T_max]  X in cells/mL, Y cells/mg
  r_FeS2 = k_py·n_FeS2·a                                    mol/h (first order in pyrite)
  r_CaCO3 = k_c·n_CaCO3·h/h_ref                             mol/h (acid attack of calcite)
  a = CTMI(T)·CPM(pH)·o2: cardinal temperature (Tmin 3, Topt 32, Tmax 45 °C; Tmin fitted to
  μ(20 °C)/μ(31 °C) = 0.12/0.20 [S14], Tmax [S3]) and cardinal pH (1.3 [S18], 2.0 [S3],
  3.5 [S16]) models of Rosso; o2 lags towards 1 (aerated) or o2_unaerated (valve closed).

ORP (§1.2): E_SHE = E0' + (RT/F)·ln([Fe3+]/[Fe2+]);  vs Ag/AgCl sat. KCl:
  E_ref = 199 mV − 1 mV/K·(T − 25 °C) [S50];  ORP = E_SHE − E_ref.
Heat (§1.5): C·dT/dt = P_heater − UA·(T − T_amb),  C = 4190 J/K/L·V [S99][S99b].
Dosing: pumped reagent first enters a mixing zone that empties into the bulk with a
first-order lag τ_mix (§1.4 asks for ≥ 60 s dead time before re-evaluating a pulse).

Step size: every rate above is slow (hours) except the mixing lag (τ 30 s) and the Monod
turnover at low Fe2+ (Ks/r_max ≈ 30 s at 1e9 cells/mL). Lags use the exact exponential
factor and Fe oxidation is capped at the Fe2+ present, so explicit Euler is stable; the step
is split into sub-steps of at most max_step_s (1 s) to keep the Euler error small when the
bench takes long steps. At the bench's 0.1 s one sub-step is taken.
"""

import math

from sim.common import F_C_PER_MOL, KELVIN, LN10, R_J_PER_MOL_K, S_PER_H, Plant, lag_fraction

FE_G_PER_MOL = 55.845
_ML_PER_L = 1000.0  # biomass is per mL, the iron balance per L
# Below this iron concentration other redox couples set the potential; the floor keeps the
# Nernst log finite when one oxidation state is used up (assumption).
_FE_FLOOR_MOL_PER_L = 1e-7

DEFAULTS = {
    # Geometry and heat (§1.5, §6). UA scales ≈ V^(2/3) when volume_l is changed.
    "volume_l": 10.0,
    "heat_j_per_k_per_l": 4190.0,  # water-like slurry [S99][S99b]
    "ua_w_per_k": 2.0,  # uninsulated 10 L glass vessel, derived 1.4-2.8 W/K
    "temp0_c": 20.0,
    # Solution chemistry (§1.3, §6).
    "ph0": 1.8,
    "sulfate_m": 0.2,  # total sulfate, 9K-like medium
    "k2_m": 0.0113,  # HSO4- dissociation constant, 25 °C [S102]
    "kw_m2": 1e-14,  # water ion product, 25 °C
    "fe2_0_g_per_l": 1.0,  # running Fe-oxidising tank (assumption)
    "fe3_0_g_per_l": 4.0,
    # Fe2+ bio-oxidation, A. ferrooxidans (§1.6) [S13]; μmax taken at T_opt (assumption).
    "mu_max_per_h": 0.082,
    "ks_mg_per_l": 31.0,
    "kp_mg_per_l": 139.0,
    # Cells formed per mg Fe2+ oxidised. §1.6 labels Y "cells/mL per mg/L, i.e. cells per mg";
    # only "cells per mg" reproduces its own derived 0.36 g/L/h at 1e8 cells/mL and a
    # 9K-medium yield of ≈2e8 cells/mL, so that reading is used.
    "yield_cells_per_mg": 2.3e7,
    "biomass_cells_per_ml": 1e8,  # §6
    "biomass_cap_cells_per_ml": 1e9,  # top of the §6 range (assumption)
    "hot_death_per_h": 0.5,  # die-off above t_max_c (assumption; cf. [S5] At. caldus loss)
    "t_min_c": 3.0,  # fitted to μ(20)/μ(31) = 0.6 [S14]
    "t_opt_c": 32.0,  # optimum 30-35 °C [S3]
    "t_max_c": 45.0,  # mesophile upper limit [S3]
    "ph_min": 1.3,  # [S18]
    "ph_opt": 2.0,  # optimum 1.8-2.5 [S3]
    "ph_max": 3.5,  # [S16]
    "o2_unaerated": 0.1,  # activity left with the air valve shut (assumption)
    "o2_tau_s": 600.0,  # dissolved-O2 lag after the valve switches (assumption)
    # Acid generation and consumption (§1.3 worked example: 0.5 kg FeS2, 5 % calcite in 1 kg).
    "pyrite_mol": 4.17,
    "pyrite_k_per_h": 1.5e-3,  # 30 % oxidised in 10 d (derived)
    "pyrite_h_per_fes2": 2.5,  # 1 (Fe stays dissolved) .. 4 (all Fe precipitates)
    "carbonate_mol": 0.5,
    "carbonate_k_per_h": 1.0,  # reacts within hours at start-up (assumption)
    "carbonate_ph_ref": 1.8,  # pH at which carbonate_k_per_h applies
    # Reagents and mixing (§1.4).
    "acid_m": 1.0,  # H2SO4 mol/L = 2 eq/L
    "base_m": 1.0,  # NaOH mol/L
    "mix_tau_s": 30.0,  # assumption
    # Lags between the heater's switch and the temperature a sensor reports (the controller
    # issue: a first-order plant flatters any tuning). The element and its sheath store heat:
    # the power it gives the broth follows the electrical power with heater_tau_s (a
    # sheathed immersion heater, 30-120 s; assumption). The temperature sensor sits in a
    # thermowell that follows the broth with well_tau_s (a stainless well, 20-60 s;
    # assumption); the vessel's temperature sensor reads well_c. 0 = no lag.
    "heater_tau_s": 60.0,
    "well_tau_s": 30.0,
    # ORP (§1.2). 0.771 V ideal [S47]; ≈0.68 V formal in sulfate media (unverified).
    "e0_v": 0.771,
    "eref_mv_25c": 199.0,  # Ag/AgCl sat. KCl vs SHE [S50]
    "eref_mv_per_k": -1.0,  # [S50]
    "max_step_s": 1.0,
}


def charge_excess_m(h_m, sulfate_m, k2_m, kw_m2):
    """Net strong acid D (mol/L) that holds [H+] = h_m: the left side of the charge balance."""
    return h_m + sulfate_m * h_m / (h_m + k2_m) - kw_m2 / h_m


def solve_h(acid_m, sulfate_m, k2_m, kw_m2, h_guess_m):
    """[H+] (mol/L) for net strong acid acid_m: Newton on the monotonic charge balance.

    The step is limited to a factor of 10 either way, which keeps h positive when the
    (concave) balance makes Newton overshoot from above.
    """
    h = h_guess_m
    for _ in range(60):
        hk = h + k2_m
        f = h + sulfate_m * h / hk - kw_m2 / h - acid_m
        df = 1.0 + sulfate_m * k2_m / (hk * hk) + kw_m2 / (h * h)
        h_new = h - f / df
        if h_new < 0.1 * h:
            h_new = 0.1 * h
        elif h_new > 10.0 * h:
            h_new = 10.0 * h
        if abs(h_new - h) <= 1e-12 * h:
            return h_new
        h = h_new
    return h


def buffer_capacity_m(h_m, sulfate_m, k2_m, kw_m2):
    """β = dD/dpH (mol/L per pH) at [H+] = h_m."""
    hk = h_m + k2_m
    return LN10 * (h_m + sulfate_m * h_m * k2_m / (hk * hk) + kw_m2 / h_m)


def cardinal(x, x_min, x_opt, x_max, n):
    """Rosso cardinal model CM_n: 1 at x_opt, 0 outside (x_min, x_max).

    n = 2 is the CTMI for temperature, n = 1 the CPM for pH.
    """
    if x <= x_min or x >= x_max:
        return 0.0
    d_opt = x_opt - x_min
    den = d_opt * (x - x_opt) - (x_opt - x_max) * ((n - 1) * x_opt + x_min - n * x)
    return (x - x_max) * (x - x_min) ** n / (d_opt ** (n - 1) * den)


def _lag(dt_s, tau_s):
    return 1.0 if tau_s <= 0.0 else lag_fraction(dt_s, tau_s)


class VesselPlant(Plant):
    """Stirred bioleaching vessel: pH, ORP, temperature, iron and biomass.

    Inputs (set as attributes before step()): heater_w, acid_ml_per_min, base_ml_per_min,
    aeration (bool), ambient_c. Outputs: ph, temp_c, well_c (the thermowell), heater_out_w
    (what the element gives the broth), orp_mv_agcl, orp_mv_she,
    fe2_g_per_l, fe3_g_per_l, biomass_cells_per_ml, volume_l, acid_added_ml, base_added_ml,
    heater_wh. TRACE: what the bench's truth trace records of it after every step.
    """

    TRACE = ("ph", "temp_c", "well_c", "orp_mv_she", "orp_mv_agcl", "acid_added_ml",
             "base_added_ml", "heater_wh", "heater_out_w", "aeration", "volume_l")

    def __init__(self, params=None):
        Plant.__init__(self, DEFAULTS, params)
        v = self.volume_l
        h = 10.0**-self.ph0
        self.sulfate_mol = self.sulfate_m * v
        self.acid_eq_mol = charge_excess_m(h, self.sulfate_m, self.k2_m, self.kw_m2) * v
        self.fe2_mol = self.fe2_0_g_per_l * v / FE_G_PER_MOL
        self.fe3_mol = self.fe3_0_g_per_l * v / FE_G_PER_MOL
        self.h_m = h
        self.temp_c = self.temp0_c
        self.o2_factor = 1.0
        self._h_ref_m = 10.0**-self.carbonate_ph_ref
        # Reagent pumped but not yet mixed into the bulk (L); the counters are pump output.
        self.acid_unmixed_l = 0.0
        self.base_unmixed_l = 0.0
        self.acid_added_ml = 0.0
        self.base_added_ml = 0.0
        self.heater_wh = 0.0  # electrical energy the heater took
        self.heater_out_w = 0.0  # what the element gives the broth (lags heater_w)
        self.well_c = self.temp0_c  # the thermowell the temperature sensor sits in
        # Inputs.
        self.heater_w = 0.0
        self.acid_ml_per_min = 0.0
        self.base_ml_per_min = 0.0
        self.aeration = True
        self.ambient_c = 20.0

    def _advance(self, dt_s):
        v = self.volume_l
        dt_h = dt_s / S_PER_H
        t_c = self.temp_c
        ph = -math.log10(self.h_m)

        # Reagents: pump -> mixing zone -> bulk.
        pumped_acid_l = self.acid_ml_per_min * dt_s / 60000.0
        pumped_base_l = self.base_ml_per_min * dt_s / 60000.0
        self.acid_added_ml += pumped_acid_l * 1000.0
        self.base_added_ml += pumped_base_l * 1000.0
        mix = lag_fraction(dt_s, self.mix_tau_s)
        zone_acid_l = self.acid_unmixed_l + pumped_acid_l
        zone_base_l = self.base_unmixed_l + pumped_base_l
        acid_l = zone_acid_l * mix
        base_l = zone_base_l * mix
        self.acid_unmixed_l = zone_acid_l - acid_l
        self.base_unmixed_l = zone_base_l - base_l
        d_acid = 2.0 * self.acid_m * acid_l - self.base_m * base_l
        d_sulfate = self.acid_m * acid_l

        # Biological activity: temperature, pH and oxygen factors.
        o2_target = 1.0 if self.aeration else self.o2_unaerated
        self.o2_factor += (o2_target - self.o2_factor) * lag_fraction(dt_s, self.o2_tau_s)
        act = (
            cardinal(t_c, self.t_min_c, self.t_opt_c, self.t_max_c, 2)
            * cardinal(ph, self.ph_min, self.ph_opt, self.ph_max, 1)
            * self.o2_factor
        )

        # Fe2+ -> Fe3+ [S13], in mg/L and h as in the source; capped at the Fe2+ present.
        x = self.biomass_cells_per_ml
        mg_l_per_mol = FE_G_PER_MOL * 1000.0 / v
        s_mg = self.fe2_mol * mg_l_per_mol
        ks_mg = self.ks_mg_per_l * (1.0 + self.fe3_mol * mg_l_per_mol / self.kp_mg_per_l)
        q_mg_per_cell_h = self.mu_max_per_h / self.yield_cells_per_mg
        r_mg = q_mg_per_cell_h * x * _ML_PER_L * act * s_mg / (ks_mg + s_mg)
        fe_ox_mol = r_mg * dt_h / mg_l_per_mol
        if fe_ox_mol > self.fe2_mol:
            fe_ox_mol = self.fe2_mol
        grown = self.yield_cells_per_mg * fe_ox_mol * mg_l_per_mol / _ML_PER_L
        x += grown * (1.0 - x / self.biomass_cap_cells_per_ml)
        if t_c > self.t_max_c:
            x -= self.hot_death_per_h * x * dt_h
        self.biomass_cells_per_ml = x

        # Pyrite oxidation: a share of its iron precipitates at once (see module docstring).
        py_mol = self.pyrite_k_per_h * self.pyrite_mol * act * dt_h
        self.pyrite_mol -= py_mol
        precip = (self.pyrite_h_per_fes2 - 1.0) / 3.0
        # Carbonate gangue, first order in H+ (assumption), capped at what is left.
        co3_mol = self.carbonate_k_per_h * self.carbonate_mol * self.h_m / self._h_ref_m * dt_h
        if co3_mol > self.carbonate_mol:
            co3_mol = self.carbonate_mol
        self.carbonate_mol -= co3_mol

        self.fe2_mol += (1.0 - precip) * py_mol - fe_ox_mol
        self.fe3_mol += fe_ox_mol
        self.acid_eq_mol += d_acid + (2.0 + 2.0 * precip) * py_mol - fe_ox_mol - 2.0 * co3_mol
        self.sulfate_mol += d_sulfate + 2.0 * py_mol - co3_mol
        v += acid_l + base_l
        self.volume_l = v

        # Heat balance with the volume of this step (reagent enthalpy neglected): the
        # element's output lags its electrical power, the well lags the broth.
        self.heater_wh += self.heater_w * dt_s / S_PER_H
        out = self.heater_out_w
        out += (self.heater_w - out) * _lag(dt_s, self.heater_tau_s)
        self.heater_out_w = out
        self.temp_c = t_c + dt_s * (out - self.ua_w_per_k * (t_c - self.ambient_c)) / (
            self.heat_j_per_k_per_l * v
        )
        self.well_c += (self.temp_c - self.well_c) * _lag(dt_s, self.well_tau_s)

        self.h_m = solve_h(
            self.acid_eq_mol / v, self.sulfate_mol / v, self.k2_m, self.kw_m2, self.h_m
        )

    @property
    def ph(self):
        return -math.log10(self.h_m)

    @property
    def fe2_g_per_l(self):
        return self.fe2_mol * FE_G_PER_MOL / self.volume_l

    @property
    def fe3_g_per_l(self):
        return self.fe3_mol * FE_G_PER_MOL / self.volume_l

    @property
    def orp_mv_she(self):
        floor_mol = _FE_FLOOR_MOL_PER_L * self.volume_l
        ratio = max(self.fe3_mol, floor_mol) / max(self.fe2_mol, floor_mol)
        t_k = self.temp_c + KELVIN
        return 1000.0 * (self.e0_v + R_J_PER_MOL_K * t_k / F_C_PER_MOL * math.log(ratio))

    @property
    def orp_mv_agcl(self):
        return self.orp_mv_she - (self.eref_mv_25c + self.eref_mv_per_k * (self.temp_c - 25.0))
