"""Units at the host edge: every spec unit is known, user strings convert or fail clearly."""

import pytest

from pilotedge import units
from pilotedge.errors import PilotedgeError
from pilotproto import messages as m
from pilotproto import schema as s


def test_every_unit_in_the_spec_is_in_the_registry():
    spec_units = {f[3] for fields in s.FIELDS.values() for f in fields if f[3]}
    spec_units |= {p[2] for p in m.PARAMS}
    for unit in spec_units:
        units.ureg.parse_units(unit)  # UndefinedUnitError if missing
    assert {"pH", "degC", "mV", "bar", "mL", "NL", "percent"} <= spec_units


@pytest.mark.parametrize(
    "text, unit, value",
    [
        ("2.0 pH", "pH", 2.0),
        ("35 degC", "degC", 35.0),
        ("95 degF", "degC", 35.0),
        ("25 bar", "bar", 25.0),
        ("300 kPa", "bar", 3.0),
        ("1.5 mL", "mL", 1.5),
        ("2 L", "mL", 2000.0),
        ("22.41396954 NL", "NL", 22.41396954),
        ("1 mol", "NL", 22.41396954),
        ("50 %", "percent", 50.0),
        ("-250 mV", "mV", -250.0),
        ("7", None, 7.0),
    ],
)
def test_parse_converts_to_the_spec_unit(text, unit, value):
    assert units.parse(text, unit) == pytest.approx(value)


@pytest.mark.parametrize(
    "text, unit, words",
    [
        ("2 %", "pH", ["'2 %' is a plain number or percentage, but a pH is wanted"]),
        # a normal litre is an amount of gas
        ("1.5 L", "NL", ["'1.5 L' is a volume, but an amount of gas is wanted (in NL)"]),
        ("35 degC", "bar", ["'35 degC' is a temperature, but a pressure is wanted (in bar)"]),
        ("5 bar", "mL", ["'5 bar' is a pressure, but a volume is wanted (in mL)"]),
        ("12", "percent", ["no unit", "12 percent"]),
        ("2 foo", "pH", ["'foo' is not defined"]),
        ("two pH", "pH", ["cannot read 'two pH'"]),
    ],
)
def test_parse_refuses_clearly(text, unit, words):
    with pytest.raises(units.UnitError) as err:
        units.parse(text, unit)
    assert isinstance(err.value, PilotedgeError)
    for word in words:
        assert word in str(err.value)


def test_quantity_of_a_field():
    assert units.quantity("VESSEL", "temp", 35.0).to("K").magnitude == pytest.approx(308.15)
    assert units.quantity(m.MSG_CANISTER, "pressure", 2.0).to("kPa").magnitude == 200.0
    assert units.quantity("HEARTBEAT", "faults", 3).dimensionless
    assert units.param_unit("capacity") == "NL"
