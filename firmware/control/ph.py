# pilotedge: pH electrode conversion and deadband pulse dosing (MIT).
#
# pH from electrode mV with the temperature-compensated Nernst slope and the electrode's
# offset at pH 7 (isopotential point, docs/references.md §2.1); control/phcal.py fits offset
# and slope per electrode from standard buffers. The doser is the simple policy the
# pH-control issue will replace.

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


class PulseDoser:
    # Outside sp +/- deadband_ph, ask for one pulse of pulse_ul, then wait dead_time_ms for the
    # reagent to mix in before judging the pH again (docs/references.md §1.4: >= 60 s dead time).

    def __init__(self, deadband_ph, pulse_ul, dead_time_ms):
        self.deadband_ph = deadband_ph
        self.pulse_ul = pulse_ul
        self.dead_time_ms = dead_time_ms
        self._wait_ms = 0

    def reset(self):
        self._wait_ms = 0

    def update(self, ph, sp, dt_ms):
        # Signed volume to dose now: > 0 acid, < 0 base, 0 nothing.
        if self._wait_ms > 0:
            self._wait_ms -= dt_ms
            if self._wait_ms > 0:
                return 0
        if ph > sp + self.deadband_ph:
            vol_ul = self.pulse_ul
        elif ph < sp - self.deadband_ph:
            vol_ul = -self.pulse_ul
        else:
            return 0
        self._wait_ms = self.dead_time_ms
        return vol_ul
