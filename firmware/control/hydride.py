# pilotedge: metal-hydride canister state of charge as a band from P and T (MIT).
#
# Placeholder until gas counting (canister issue): compare the pressure with the LaNi5
# desorption plateau at the shell temperature. Well below the plateau is the alpha phase
# (nearly empty), well above is the beta phase (nearly full), on the plateau SOC is unknown
# within a wide middle band. Ratios 0.5 / 2 are assumptions.

import math

from compat import const

A_DES = 12.87  # ln(P/bar) intercept of the LaNi5 desorption van 't Hoff line [S64]
B_K = 3704.6  # slope, K [S64]
_KELVIN = const(273.15)
_BAND_LOW = const(0.5)
_BAND_HIGH = const(2.0)
SOC_LOW_PERMILLE = const(100)
SOC_MID_PERMILLE = const(500)
SOC_HIGH_PERMILLE = const(900)


def plateau_bar(temp_c):
    return math.exp(A_DES - B_K / (temp_c + _KELVIN))


def soc_band_permille(p_bar, temp_c):
    r = p_bar / plateau_bar(temp_c)
    if r < _BAND_LOW:
        return SOC_LOW_PERMILLE
    if r > _BAND_HIGH:
        return SOC_HIGH_PERMILLE
    return SOC_MID_PERMILLE
