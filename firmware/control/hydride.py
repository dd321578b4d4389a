# pilotedge: metal-hydride equilibrium: van 't Hoff plateaus with slope and hysteresis, and
# the state of charge a pressure and temperature imply (MIT).
#
# Nishizaki-type PCT (docs/references.md §4.1, [S64][S65]), P in bar, T in K, x = soc 0..1:
#   ln P_abs = A_abs - B/T + (phi + phi0) tan(pi (x - 1/2))
#   ln P_des = A_des - B/T + (phi - phi0) tan(pi (x - 1/2))
# A_abs - A_des is the hysteresis; phi the plateau slope (phi0 splits it between the
# branches); B = dH/R. Inverted, each branch gives the x at which it passes through P:
#   x = 1/2 + atan((ln P - A + B/T) / slope) / pi
# At rest (no gas in or out) a bed lies between its branches, so its x is within
# [x_abs(P, T), x_des(P, T)]: narrow at the ends of the isotherm, where the branches are
# steep, and most of the range on the flat plateau (docs/references.md §4.1: pressure fixes
# the state of charge only at the ends; on the plateau it must be counted).
#
# Float math: called at the slow rate of the state-of-charge and leak estimators only.

import math

from compat import const

_KELVIN = const(273.15)
_SOC_EDGE = const(1e-6)  # tan() diverges at 0 and 1: evaluated just inside

# Alloys: (A_abs, A_des in ln bar, B in K, phi, phi0). A board file names one ("alloy").
ALLOYS = {
    # [S64]: P_a = 1 MPa exp(10.7 - 3704.6/T), P_d = 1 MPa exp(10.57 - 3704.6/T); slope as the
    # bench's plant (an assumption, §6).
    "LaNi5": (13.0026, 12.8726, 3704.6, 0.03, 0.0),
    # Ti1.1CrMn (AB2 Laves) [S66]: dH -22 kJ/mol -> B = 2646 K; 11 MPa dissociation pressure
    # at 296 K -> A = ln 110 + 2646/296 = 13.64 (derived); hysteresis and slope assumed.
    "Ti1.1CrMn": (13.70, 13.58, 2646.0, 0.1, 0.0),
}
ABS = const(0)
DES = const(1)


class Pct:
    def __init__(self, alloy="LaNi5"):
        a_abs, a_des, b_k, phi, phi0 = ALLOYS[alloy]
        self.a = (a_abs, a_des)
        self.b_k = b_k
        self.slope = (phi + phi0, phi - phi0)

    def p_bar(self, branch, t_c, soc):
        # Equilibrium pressure of a branch (ABS, DES) at t_c and soc.
        soc = min(max(soc, _SOC_EDGE), 1.0 - _SOC_EDGE)
        ln_p = self.a[branch] - self.b_k / (t_c + _KELVIN)
        return math.exp(ln_p + self.slope[branch] * math.tan(math.pi * (soc - 0.5)))

    def soc(self, branch, p_bar, t_c):
        # The soc at which that branch passes through p_bar at t_c (0 ... 1).
        u = math.log(p_bar) - self.a[branch] + self.b_k / (t_c + _KELVIN)
        slope = self.slope[branch]
        if slope <= 0.0:  # a flat plateau: below it empty, above it full
            return 0.0 if u < 0.0 else 1.0
        return 0.5 + math.atan(u / slope) / math.pi
