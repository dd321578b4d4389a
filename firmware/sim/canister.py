"""LaNi5 metal-hydride canister plant for the virtual bench (MicroPython unix port and CPython).

Source tags [Sxx] and section numbers refer to docs/references.md; derivation,
defaults and simplifications are in docs/plant-models.md.

State: soc = x/x_max of the hydride, n_gas (mol H2 in the free gas volume), one lumped
temperature T for alloy + shell, and cumulative mol counters (supplied, drawn, leaked, vented).

PCT, Nishizaki-type form (§4.1) [S64][S65], P in bar, T in K:
  ln P_a = A_abs − B/T + (φ + φ0)·tan[π(soc − ½)]    A_abs = 10.7 + ln 10 = 13.00
  ln P_d = A_des − B/T + (φ − φ0)·tan[π(soc − ½)]    A_des = 10.57 + ln 10 = 12.87, B 3704.6 K
  Hysteresis comes from A_abs − A_des = ln(P_a/P_d) = 0.13; β of the general form is 0.
Kinetics [S64], rewritten for soc = (ρ_s − ρ_emp)/(ρ_sat − ρ_emp):
  P > P_a:  dsoc/dt = C_a·exp(−E_a/RT)·ln(P/P_a)·(1 − soc)
  P < P_d:  dsoc/dt = −C_d·exp(−E_d/RT)·((P_d − P)/P_d)·soc
  otherwise the bed is inside the hysteresis loop and nothing reacts.
Heat: C·dT/dt = ΔH·(mol H2 absorbed per s) − UA·(T − T_amb),  ΔH = B·R = 30.8 kJ/mol,
  C = m_alloy·419 J/kg/K [S65] + shell_j_per_k.
Gas (ideal, at T): V_g/(RT)·dP/dt = inlet + desorption − absorption − draw − leak − PRV
  inlet   G_in·(P_sup − P)·open when the inlet valve is open (regulator does not flow back);
          P_sup = supply_bar, or failed_supply_bar when the regulator has failed high [S68];
          open is the share of the step the valve was open (a throttled valve pulses)
  draw    consumer demand, tapering linearly to 0 between draw_min_bar and 1 atm
  leak    L·(P − 1 atm), L from NmL/min at leak_ref_bar
  PRV     G_prv·(P − P_set) above P_set = 35 bar (opens gradually, as in [S68])

Integrator: the gas node is tiny (0.15 L) against the flows (time constants 0.05-1 s), so it
is integrated linearly implicitly: all flows are linearised in P, the scalar equation for
ΔP is solved exactly, and every reservoir is then updated with the same flows, so the H2
balance closes to rounding. soc and T follow by explicit Euler: the tightest remaining loop
(reaction heat raising P_a, which throttles absorption) has τ ≈ 3-9 s. Steps are split into
sub-steps of at most max_step_s (0.25 s); the bench's 0.1 s takes one.
"""

import math

from sim.common import ATM_BAR, KELVIN, LN10, NL_PER_MOL, R_J_PER_MOL_K, Plant, arrhenius

# The PCT tan() diverges at soc 0 and 1; evaluating it just inside keeps P_eq finite.
_SOC_EDGE = 1e-9

DEFAULTS = {
    # Size (§4.2, §4.3): 0.75 kg LaNi5 per 100 NL usable; capacity is the H2 at soc = 1.
    "capacity_nl": 100.0,
    "alloy_kg_per_nl": 0.0075,
    "alloy_j_per_kg_k": 419.0,  # [S65]
    "shell_j_per_k": 250.0,  # ≈ 0.5 kg stainless shell (assumption)
    "ua_w_per_k": 0.5,  # still air around a small cylinder (assumption)
    "gas_volume_l": 0.15,  # bed voids + plenum (assumption)
    # PCT [S64][S65]; P in bar. phi0 splits the slope between abs and des ([S66b]: abs slopes).
    "a_abs": 10.7 + LN10,
    "a_des": 10.57 + LN10,
    "b_k": 3704.6,
    "phi": 0.03,  # plateau slope (assumption, §6)
    "phi0": 0.0,
    "dh_j_per_mol": 3704.6 * R_J_PER_MOL_K,  # 30.8 kJ/mol H2, same B as the PCT
    # Kinetics [S64].
    "c_a_per_s": 59.187,
    "e_a_j_per_mol": 21179.6,
    "c_d_per_s": 9.57,
    "e_d_j_per_mol": 16473.0,
    # Gas side (§4.3). Conductances are assumptions.
    "inlet_nl_per_min_per_bar": 2.0,
    "failed_supply_bar": 32.0,  # regulator set to 20 bar delivered ≈32 bar [S68]
    "prv_set_bar": 35.0,  # [S68]
    "prv_nl_per_min_per_bar": 100.0,
    "leak_ref_bar": 10.0,
    "draw_min_bar": 1.5,  # fuel-cell regulator needs ≥ 1.5-2 bar (§4.3)
    # Initial state; p0_bar None = on the desorption isotherm (at rest inside the loop).
    "soc0": 0.5,
    "temp0_c": 20.0,
    "p0_bar": None,
    "max_step_s": 0.25,
}


def pct_bar(a, slope, b_k, t_k, soc):
    """Equilibrium pressure (bar) on one branch of the PCT (a, slope = A, φ ± φ0)."""
    if soc < _SOC_EDGE:
        soc = _SOC_EDGE
    elif soc > 1.0 - _SOC_EDGE:
        soc = 1.0 - _SOC_EDGE
    return math.exp(a - b_k / t_k + slope * math.tan(math.pi * (soc - 0.5)))


class CanisterPlant(Plant):
    """LaNi5 canister with supply regulator, inlet valve, consumer, leak and PRV.

    Inputs (attributes): inlet_open (bool, or the share 0..1 of a step it was open),
    supply_bar (absolute), regulator_failed, draw_nl_per_min, leak_nml_per_min_at_ref,
    ambient_c. Outputs: pressure_bar (absolute), shell_c, ambient_c, soc, stored_nl, gas_nl,
    port_nl_per_min (the net flow through the canister's line, + inwards: inlet less draw, as
    a meter on the line sees it; leak and PRV bypass it) and cumulative supplied_nl,
    drawn_nl, leaked_nl, vented_nl. TRACE: what the bench's truth trace records after every
    step.
    """

    TRACE = ("pressure_bar", "shell_c", "ambient_c", "soc", "stored_nl", "supplied_nl",
             "drawn_nl", "leaked_nl", "vented_nl", "inlet_open", "port_nl_per_min")

    def __init__(self, params=None):
        Plant.__init__(self, DEFAULTS, params)
        self.n_cap_mol = self.capacity_nl / NL_PER_MOL
        alloy_kg = self.alloy_kg_per_nl * self.capacity_nl
        self.heat_j_per_k = alloy_kg * self.alloy_j_per_kg_k + self.shell_j_per_k
        self.slope_abs = self.phi + self.phi0
        self.slope_des = self.phi - self.phi0
        # Conversions to mol/s: conductances per bar, leak per NmL/min at the reference.
        self._g_in = self.inlet_nl_per_min_per_bar / NL_PER_MOL / 60.0
        self._g_prv = self.prv_nl_per_min_per_bar / NL_PER_MOL / 60.0
        self._g_leak_per_nml = 1.0 / (60000.0 * NL_PER_MOL * (self.leak_ref_bar - ATM_BAR))
        self.soc = self.soc0
        t_k = self.temp0_c + KELVIN
        p_bar = self.p0_bar
        if p_bar is None:
            p_bar = pct_bar(self.a_des, self.slope_des, self.b_k, t_k, self.soc)
        self.n_gas_mol = p_bar * self.gas_volume_l * 100.0 / (R_J_PER_MOL_K * t_k)
        self.pressure_bar = p_bar
        self.port_nl_per_min = 0.0
        self.shell_c = self.temp0_c
        self.supplied_mol = 0.0
        self.drawn_mol = 0.0
        self.leaked_mol = 0.0
        self.vented_mol = 0.0
        # Inputs.
        self.inlet_open = False
        self.supply_bar = 10.0
        self.regulator_failed = False
        self.draw_nl_per_min = 0.0
        self.leak_nml_per_min_at_ref = 0.0
        self.ambient_c = 20.0

    def _advance(self, dt_s):
        t_k = self.shell_c + KELVIN
        soc = self.soc
        p = self.pressure_bar
        # mol per bar held by the gas volume at this temperature.
        c_gas = self.gas_volume_l * 100.0 / (R_J_PER_MOL_K * t_k)

        # Each flow f (mol/s, + into the gas) with df = df/dP, linearised around p.
        f_in = df_in = 0.0
        if self.inlet_open:
            p_sup = self.failed_supply_bar if self.regulator_failed else self.supply_bar
            if p < p_sup:
                g_in = self._g_in * self.inlet_open
                df_in = -g_in
                f_in = g_in * (p_sup - p)
        f_draw = df_draw = 0.0
        if self.draw_nl_per_min > 0.0 and p > ATM_BAR:
            demand = self.draw_nl_per_min / NL_PER_MOL / 60.0
            if p < self.draw_min_bar:
                df_draw = -demand / (self.draw_min_bar - ATM_BAR)
                f_draw = df_draw * (p - ATM_BAR)
            else:
                f_draw = -demand
        f_leak = df_leak = 0.0
        if self.leak_nml_per_min_at_ref > 0.0 and p > ATM_BAR:
            df_leak = -self.leak_nml_per_min_at_ref * self._g_leak_per_nml
            f_leak = df_leak * (p - ATM_BAR)
        f_prv = df_prv = 0.0
        if p > self.prv_set_bar:
            df_prv = -self._g_prv
            f_prv = df_prv * (p - self.prv_set_bar)
        f_bed = df_bed = 0.0
        p_a = pct_bar(self.a_abs, self.slope_abs, self.b_k, t_k, soc)
        if p > p_a:
            k = arrhenius(self.c_a_per_s, self.e_a_j_per_mol, t_k) * self.n_cap_mol * (1.0 - soc)
            f_bed = -k * math.log(p / p_a)
            df_bed = -k / p
        else:
            p_d = pct_bar(self.a_des, self.slope_des, self.b_k, t_k, soc)
            if p < p_d:
                k = arrhenius(self.c_d_per_s, self.e_d_j_per_mol, t_k) * self.n_cap_mol * soc
                f_bed = k * (p_d - p) / p_d
                df_bed = -k / p_d

        # Linearly implicit pressure step, then every flow at the new pressure. A flow may
        # not change direction within a step (the valve or reaction just stops).
        f_sum = f_in + f_draw + f_leak + f_prv + f_bed
        dp = dt_s * f_sum / (c_gas - dt_s * (df_in + df_draw + df_leak + df_prv + df_bed))
        f_in = max(f_in + df_in * dp, 0.0)
        f_draw = min(f_draw + df_draw * dp, 0.0)
        f_leak = min(f_leak + df_leak * dp, 0.0)
        f_prv = min(f_prv + df_prv * dp, 0.0)
        if f_bed < 0.0:
            f_bed = min(f_bed + df_bed * dp, 0.0)
        elif f_bed > 0.0:
            f_bed = max(f_bed + df_bed * dp, 0.0)

        self.port_nl_per_min = (f_in + f_draw) * NL_PER_MOL * 60.0
        self.supplied_mol += f_in * dt_s
        self.drawn_mol -= f_draw * dt_s
        self.leaked_mol -= f_leak * dt_s
        self.vented_mol -= f_prv * dt_s
        self.n_gas_mol += (f_in + f_draw + f_leak + f_prv + f_bed) * dt_s
        self.soc = soc - f_bed * dt_s / self.n_cap_mol
        heat_w = -f_bed * self.dh_j_per_mol - self.ua_w_per_k * (t_k - KELVIN - self.ambient_c)
        t_k += dt_s * heat_w / self.heat_j_per_k
        self.shell_c = t_k - KELVIN
        self.pressure_bar = self.n_gas_mol * R_J_PER_MOL_K * t_k / (self.gas_volume_l * 100.0)

    @property
    def stored_nl(self):
        return self.soc * self.capacity_nl

    @property
    def gas_nl(self):
        return self.n_gas_mol * NL_PER_MOL

    @property
    def supplied_nl(self):
        return self.supplied_mol * NL_PER_MOL

    @property
    def drawn_nl(self):
        return self.drawn_mol * NL_PER_MOL

    @property
    def leaked_nl(self):
        return self.leaked_mol * NL_PER_MOL

    @property
    def vented_nl(self):
        return self.vented_mol * NL_PER_MOL
