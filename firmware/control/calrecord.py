# pilotedge: a calibration as a record: points, fit, health, when, how long it holds (MIT).
#
# A record is a JSON dict for the power-cut-safe store (runtime/store.py Record, whose
# validate function is validate() or validate_set() below):
#   kind    KIND_PH, KIND_ORP or KIND_PUMP
#   pts     1-3 points of 3 numbers. pH: [buffer pH at its temperature, mV, degC];
#           ORP: [the standard's mV against the electrode's reference, mV read, degC];
#           pump: [on-time ms, measured mL, nominal mL/min]
#   fit     pH: phcal.PhCal.fit_values(); ORP: [offset mV]; pump: [mL/min]
#   health  health.GOOD or WARN (a rejected calibration is never stored)
#   wall_s  host wall time at calibration, Unix seconds; 0 when the host had not given it
#   op_min  the board's operating minutes at calibration
#   life_h  hours it holds by either clock; 0 = no expiry
# Boards have no clock of their own, so expiry counts operating time as well as the host's
# wall time: it works without a host. An expired calibration stays in force and warns
# (control/health.py expired(), which a board runs without this module).
#
# Default lives (assumption from practice, [S34], docs/references.md §2.2: pH 1-point at
# least weekly, 2-point at least monthly): pH 1-point 168 h, otherwise 720 h.
#
# Loading re-checks the fit, so a damaged or hand-edited record can neither put a slope of 0
# (a division by zero in every pH) nor a rejected calibration in force.

from compat import const
from control import orp, phcal, pumpcal
from control.health import REJECT

KIND_PH = const(1)
KIND_ORP = const(2)
KIND_PUMP = const(3)
LIFE_1_POINT_H = const(168)
LIFE_H = const(720)

_FIT_LEN = (0, 5, 1, 1)  # by kind
_KEYS = ("kind", "pts", "fit", "health", "wall_s", "op_min", "life_h")
_BIG = 1e9


def make(kind, pts, fit, health, wall_s, op_min, life_h):
    return {
        "kind": kind,
        "pts": pts,
        "fit": fit,
        "health": health,
        "wall_s": wall_s,
        "op_min": op_min,
        "life_h": life_h,
    }


def _numbers(values, n):
    if not isinstance(values, list) or len(values) != n:
        raise ValueError("length")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not -_BIG < v < _BIG:
            raise ValueError("number")


def _count(v):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError("count")


def _health(kind, pts, fit):
    if kind == KIND_PH:
        if not 0.0 <= fit[4] <= 14.0:
            raise ValueError("break_ph")
        return phcal.from_fit(fit).health()
    if kind == KIND_ORP:
        return orp.health(fit[0])
    nominal = pts[0][2]
    if nominal <= 0:
        raise ValueError("nominal")
    return pumpcal.health(fit[0], nominal)


def validate(rec):
    # The record with its health re-derived from its fit; ValueError if anything is off.
    if not isinstance(rec, dict) or len(rec) != len(_KEYS):
        raise ValueError("record")
    for key in _KEYS:
        if key not in rec:
            raise ValueError(key)
    kind = rec["kind"]
    if kind not in (KIND_PH, KIND_ORP, KIND_PUMP):
        raise ValueError("kind")
    pts = rec["pts"]
    if not isinstance(pts, list) or not 1 <= len(pts) <= 3:
        raise ValueError("pts")
    for p in pts:
        _numbers(p, 3)
    _numbers(rec["fit"], _FIT_LEN[kind])
    for key in ("wall_s", "op_min", "life_h"):
        _count(rec[key])
    health = _health(kind, pts, rec["fit"])
    if health == REJECT:
        raise ValueError("fit")
    rec["health"] = health
    return rec


def validate_set(data):
    # A board's calibrations in one record: {name: record}.
    if not isinstance(data, dict):
        raise ValueError("calibrations")
    for name in data:
        validate(data[name])
    return data
