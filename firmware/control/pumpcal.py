# pilotedge: dosing-pump calibration by a timed run into a measuring cylinder (MIT).
#
# A peristaltic pump's flow is set by its tubing and rotor speed and is calibrated, not
# trusted ([S100]; docs/references.md §1.4): run the pump for a known on-time into a
# cylinder, read the volume, and the rate is volume / on-time. A run collecting 20 mL in a
# 25 mL cylinder read to 0.1 mL gives the rate to 0.5 %. Health against the board file's
# nominal rate (assumption): within +-10 % good, +-20 % warn (tubing worn or wrong size),
# beyond: refused (a blocked or disconnected line, or a wrong entry).
#
# Volumes and on-times convert by the rate in force: 1 mL/min = 1000 uL / 60000 ms, so
# uL = ms * rate / 60.

from control.health import GOOD, REJECT, WARN

_WARN_FRACTION = 0.1
_MAX_FRACTION = 0.2


def rate_ml_per_min(on_ms, measured_ml):
    # The calibrated rate, or None when the run or the entry cannot give one.
    if on_ms <= 0 or measured_ml <= 0:
        return None
    return measured_ml * 60000.0 / on_ms


def health(rate, nominal):
    # rate and nominal in the same unit (mL/min).
    err = abs(rate / nominal - 1.0)
    if err > _MAX_FRACTION:
        return REJECT
    return WARN if err > _WARN_FRACTION else GOOD


def run_ms(target_ml, ml_per_min):
    # On-time of a calibration run that collects about target_ml.
    return int(target_ml * 60000.0 / ml_per_min + 0.5)


def on_ms(vol_ul, ml_per_min):
    # On-time that delivers vol_ul.
    return int(vol_ul * 60.0 / ml_per_min + 0.5)


def volume_ul(ms, ml_per_min):
    # Volume delivered in an on-time of ms.
    return int(ms * ml_per_min / 60.0 + 0.5)
