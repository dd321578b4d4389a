"""Values with their units for people: "35.00 degC", "5.000 mL", "25.000 bar", or in the
units a person asked for (`--units degF,psi,L`).

Digits follow the spec's resolution of the quantity (0.01 degC: two decimals), carried over
to the wanted unit.
"""

import math

from .errors import UnitError

_SHORT = {"percent": "%"}


class Display:
    """Formats quantities; `units` is a comma-separated list of wanted units (each replaces
    the spec's unit of the same dimension), e.g. "degF,psi,L". UnitError for one pint does
    not know."""

    def __init__(self, units=""):
        self._wanted = [u.strip() for u in (units or "").split(",") if u.strip()]
        self._choice = {}
        if self._wanted:
            from .units import ureg  # pint only when a person asked for other units

            for unit in self._wanted:
                try:
                    ureg.Quantity(1, unit)
                except Exception as exc:  # pint raises several kinds for a bad unit
                    raise UnitError("--units: %r is not a unit pint knows (%s)" % (unit, exc))

    def _target(self, unit):
        if unit not in self._choice:
            self._choice[unit] = None
            if self._wanted and unit:
                from .units import ureg

                dims = ureg.Quantity(1, unit).dimensionality
                for wanted in self._wanted:
                    if ureg.Quantity(1, wanted).dimensionality == dims:
                        self._choice[unit] = wanted
                        break
        return self._choice[unit]

    def quantity(self, value, unit, digits=None):
        """"35.00 degC"; "invalid" for None; digits default to what the value shows."""
        if value is None:
            return "invalid"
        if isinstance(value, str) or unit is None:
            return str(value) if unit is None else "%s %s" % (value, unit)
        target = self._target(unit)
        if target is not None and target != unit:
            from .units import ureg

            value = ureg.Quantity(value, unit).to(target).magnitude
            unit = target
        if digits is None:
            digits = _digits_of(value)
        return "%.*f %s" % (digits, value, _SHORT.get(unit, unit))


def digits(scale):
    """Decimals a spec scale resolves: 0.001 -> 3, 1 -> 0."""
    return max(0, -int(math.floor(math.log10(scale) + 1e-9))) if scale else 0


def _digits_of(value):
    text = repr(float(value))
    return 0 if float(value).is_integer() else min(3, len(text.split(".")[1]))
