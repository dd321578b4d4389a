# pilotedge: pH electrode calibration with standard buffers: 1, 2 or 3 points, health (MIT).
#
# Model (docs/references.md §2.1): E = offset_mv + slope_pct/100 * 0.198421 mV/K * T *
# (7 - pH), isopotential point pH 7. With x = 0.198421 * T * (7 - pH), the mV an ideal
# electrode gives in that buffer at that temperature, E is a line in x: every point carries
# its own buffer temperature and the fit needs no common one. slope_pct is against the Nernst
# slope at any temperature (59.16 mV/pH at 25 degC for 100 %) and offset_mv is the reading at
# pH 7, so both are "referred to 25 degC" as calibration practice quotes them.
#
# 1 point: offset only, the (acid) slope of the calibration in force kept (weekly practice,
# [S34]).
# 2 points: the line through both (bioleaching: 1.68 + 4.01, bracketing pH 1.5-2.5, §2.2).
# 3 points: piecewise, an acid line through the lower two and an alkaline line through the
# upper two, split at the middle buffer, as process meters do [S34b]. Not least squares: the
# vessel reads pH 1-2.5, where the acid line through the buffers bracketing it is exact,
# while a least-squares line would pull the ageing electrode's alkaline error (slope loss
# is worst there, [S36]) into the process range. Between the two lines the reading is
# continuous at the calibration temperature and within ~0.005 pH at +-10 K of it.
#
# Health (docs/references.md §2.2): reject a slope outside 85-105 % [S31] or an offset beyond
# +-30 mV [S31][S32]; warn below 92 % [S33] or beyond +-15 mV. A piecewise fit gets the
# worse verdict of its two lines.

from control.health import GOOD, REJECT, WARN
from control.ph import KELVIN, NERNST_MV_PER_K, PH_ISO, ph_of
from control.standards import buffer_ph

_SLOPE_MIN_PCT = 85.0
_SLOPE_MAX_PCT = 105.0
_SLOPE_WARN_PCT = 92.0
_OFFSET_MAX_MV = 30.0
_OFFSET_WARN_MV = 15.0
# Neighbouring buffers closer than this make the slope a difference of nearly equal readings
# (0.2 mV of noise is already 0.5 % of slope over 1 pH).
_MIN_SPAN_PH = 1.0


def health(slope_pct, offset_mv):
    if not _SLOPE_MIN_PCT <= slope_pct <= _SLOPE_MAX_PCT or abs(offset_mv) > _OFFSET_MAX_MV:
        return REJECT
    if slope_pct < _SLOPE_WARN_PCT or abs(offset_mv) > _OFFSET_WARN_MV:
        return WARN
    return GOOD


class PhCal:
    # The calibration in force. One line (acid = alkaline) or two split at break_ph.

    def __init__(self, slope_pct=100.0, offset_mv=0.0, alk_slope_pct=None, alk_offset_mv=None,
                 break_ph=PH_ISO):
        self.slope_pct = slope_pct
        self.offset_mv = offset_mv
        self.alk_slope_pct = slope_pct if alk_slope_pct is None else alk_slope_pct
        self.alk_offset_mv = offset_mv if alk_offset_mv is None else alk_offset_mv
        self.break_ph = break_ph

    def ph(self, mv, temp_c):
        return ph_of(self.fit_values(), mv, temp_c)

    def fit_values(self):
        # The record's "fit": [slope_pct, offset_mv, alk_slope_pct, alk_offset_mv, break_ph].
        return [self.slope_pct, self.offset_mv, self.alk_slope_pct, self.alk_offset_mv,
                self.break_ph]

    def health(self):
        return max(health(self.slope_pct, self.offset_mv),
                   health(self.alk_slope_pct, self.alk_offset_mv))


def from_fit(fit):
    # The PhCal of a record's fit values (fit_values() order).
    if fit[0] == fit[2] and fit[1] == fit[3]:
        return PhCal(fit[0], fit[1])
    return PhCal(fit[0], fit[1], fit[2], fit[3], fit[4])


def point(buffer_id, mv, temp_c):
    # A calibration point [buffer pH at temp_c, mv, temp_c], or None for an unknown buffer.
    ph = buffer_ph(buffer_id, temp_c)
    return None if ph is None else [ph, mv, temp_c]


def _ideal_mv(p):
    return NERNST_MV_PER_K * (p[2] + KELVIN) * (PH_ISO - p[0])


def _line(p, q):
    # (slope_pct, offset_mv) of the line through points p and q.
    xp = _ideal_mv(p)
    s = (p[1] - q[1]) / (xp - _ideal_mv(q))
    return 100.0 * s, p[1] - s * xp


def fit(points, keep):
    # (PhCal, verdict) from 1-3 points (point() lists); keep = the calibration in force, whose
    # slope a 1-point calibration keeps. (None, REJECT) for buffers too close or repeated.
    pts = sorted(points)
    n = len(pts)
    if not 1 <= n <= 3:
        return None, REJECT
    for i in range(n - 1):
        if pts[i + 1][0] - pts[i][0] < _MIN_SPAN_PH:
            return None, REJECT
    if n == 1:
        s = keep.slope_pct
        cal = PhCal(s, pts[0][1] - s / 100.0 * _ideal_mv(pts[0]))
    elif n == 2:
        cal = PhCal(*_line(pts[0], pts[1]))
    else:
        s, o = _line(pts[0], pts[1])
        alk_s, alk_o = _line(pts[1], pts[2])
        cal = PhCal(s, o, alk_s, alk_o, pts[1][0])
    return cal, cal.health()
