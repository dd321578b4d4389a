"""Units at the host edge: one pint registry with the spec's units, and user-string parsing.

The wire and the boards carry plain scaled integers; pint is used only where a person types
or reads a value, so "300 kPa" can become the 3.0 bar a parameter wants and "2 %" can never
become a pH.
"""

import re

import pint

from pilotproto import schema as s

from .codec import message_id, param
from .errors import EncodeError, UnitError

ureg = pint.UnitRegistry()
# pH gets its own dimension, not "dimensionless": otherwise "2 %" would convert to 0.02 pH.
ureg.define("pH = [pH]")
# A normal litre is an amount of gas (1 L at 0 degC and 1 atm), so it converts to mol and
# refuses plain litres, which depend on pressure and temperature.
ureg.define("normal_litre = mol / 22.41396954 = NL = normal_liter")

# "<number> <unit>" with the unit optional; parsed apart so offset units such as degC work.
_QUANTITY = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def field_unit(msg, field):
    """Unit of a message field as the spec gives it (pint syntax), or None; EncodeError if
    the message has no such field."""
    fields = s.FIELDS[message_id(msg)]
    for name, _code, _scale, unit, _enum, _bits in fields:
        if name == field:
            return unit
    raise EncodeError("%s has no field %r (fields: %s)"
                      % (msg, field, ", ".join(f[0] for f in fields)))


def param_unit(name):
    """Unit of a parameter as the spec gives it; EncodeError if there is no such parameter."""
    return param(name)[2]


def quantity(msg, field, value):
    """A pint Quantity of an engineering value of a message field (dimensionless if unitless)."""
    return ureg.Quantity(value, field_unit(msg, field) or "dimensionless")


def parse(text, unit):
    """Magnitude of a user string such as "35 degC" or "300 kPa" in `unit` (the spec's unit).

    A unit is required whenever `unit` is not None: a bare "12" for a percent field or a
    pressure is ambiguous, so it is refused rather than guessed.
    """
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise UnitError("cannot read %r: expected a number and a unit, e.g. '2.0 pH'" % text)
    number, unit_text = match.groups()
    if not unit_text:
        if unit is None:
            return float(number)
        raise UnitError("%r has no unit: write it with one, e.g. '%s %s'" % (text, number, unit))
    try:
        q = ureg.Quantity(float(number), unit_text)
    except (pint.PintError, ValueError) as exc:
        raise UnitError("cannot read %r: %s" % (text, exc))
    target = unit or "dimensionless"
    if not q.is_compatible_with(target):
        raise UnitError("%r is %s, but %s is wanted (in %s)"
                        % (text, kind_of(q.units), kind_of(target), target))
    return float(q.to(target).magnitude)


# Words for the dimensions people type values in, by a unit of each.
_KINDS = (("a pH", "pH"), ("a temperature", "degC"), ("a pressure", "bar"),
          ("a volume", "L"), ("an amount of gas", "NL"), ("a voltage", "mV"),
          ("a time", "s"), ("a plain number or percentage", "dimensionless"),
          ("a length", "m"), ("a mass", "kg"), ("a flow", "L/min"))


def kind_of(unit):
    """What a unit measures, in words ("a pressure"), else its dimensionality."""
    dims = ureg.Quantity(1, unit).dimensionality
    for words, example in _KINDS:
        if ureg.Quantity(1, example).dimensionality == dims:
            return words
    return "of dimension %s" % dims
