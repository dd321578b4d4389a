# pilotedge: pH electrode conversion (MIT).
#
# pH from electrode mV with the temperature-compensated Nernst slope and the electrode's
# offset at pH 7 (isopotential point, docs/references.md §2.1); control/phcal.py fits offset
# and slope per electrode from standard buffers. control/phdose.py doses.

NERNST_MV_PER_K = 0.198421  # ln(10) R / F, mV per K per pH [S28]
KELVIN = 273.15
PH_ISO = 7.0  # isopotential point: 0 mV at pH 7 for an ideal electrode [S27]


def slope_mv(temp_c, slope_pct=100.0):
    # Electrode slope in mV/pH at temp_c (59.16 at 25 degC for 100 %).
    return NERNST_MV_PER_K * (temp_c + KELVIN) * slope_pct / 100.0


def ph_from_mv(mv, temp_c, offset_mv=0.0, slope_pct=100.0):
    # E = offset - slope * (pH - 7): acid (low pH) reads positive mV.
    return PH_ISO - (mv - offset_mv) / slope_mv(temp_c, slope_pct)


def ph_of(fit, mv, temp_c):
    # pH by a calibration's fit (control/phcal.py: [slope_pct, offset_mv, alk_slope_pct,
    # alk_offset_mv, break_ph]; None: the ideal electrode): the acid line, and above break_ph
    # the alkaline one.
    if fit is None:
        return ph_from_mv(mv, temp_c)
    ph = ph_from_mv(mv, temp_c, fit[1], fit[0])
    if ph > fit[4] and (fit[2] != fit[0] or fit[3] != fit[1]):
        ph = ph_from_mv(mv, temp_c, fit[3], fit[2])
    return ph
