"""Scenario values written with units: converted where the key names its unit, one-line
errors where the unit does not fit or the key names none."""

import pytest

from pilotedge.bench import scenario
from pilotedge.errors import ScenarioError

BASE = """
[bench]
seed = 3
duration_s = %s

[ambient]
mean_c = %s

[plant.v0]
ph0 = %s
temp0_c = 20.0

[plant.c0]
soc0 = %s

[inputs.c0]
supply_bar = %s

[[params]]
unit = "v0"
name = "temp_sp"
value = %s

[[events]]
at_s = %s
do = "set"
target = "v0"
values = { temp_c = %s }
"""


def load(tmp_path, *values):
    path = tmp_path / "units.toml"
    path.write_text(BASE % values)
    return scenario.load(path)


def test_values_with_units_are_converted_to_the_unit_their_key_names(tmp_path):
    with_units = load(tmp_path, '"2 h"', '"68 degF"', '"1.8 pH"', '"40 %"', '"1500 kPa"',
                      '"95 degF"', '"1 min"', '"50 degC"')
    plain = load(tmp_path, 7200, 20.0, 1.8, 0.4, 15.0, 35.0, 60, 50.0)
    assert with_units.duration_s == plain.duration_s == 7200
    assert with_units.board_json["ambient"]["mean_c"] == pytest.approx(20.0)
    assert with_units.board_json["plant"]["v0"]["ph0"] == 1.8
    assert with_units.board_json["plant"]["c0"]["soc0"] == pytest.approx(0.4)
    assert with_units.board_json["inputs"]["c0"]["supply_bar"] == pytest.approx(15.0)
    assert with_units.params == [(0, "temp_sp", pytest.approx(35.0))]
    (event,) = with_units.board_json["events"]
    assert event["at_ms"] == 60000 and event["values"] == {"temp_c": 50.0}


@pytest.mark.parametrize("values, words", [
    (('7200', '20.0', '"1.8 bar"', '0.4', '15.0', '35.0', '60', '50.0'),
     "plant.v0.ph0: '1.8 bar' is a pressure, but a pH is wanted (in pH)"),
    (('7200', '20.0', '1.8', '0.4', '15.0', '"5 bar"', '60', '50.0'),
     "params[0].value: '5 bar' is a pressure, but a temperature is wanted (in degC)"),
    (('7200', '20.0', '1.8', '0.4', '"15"', '35.0', '60', '50.0'),
     "inputs.c0.supply_bar: '15' has no unit: write it with one, e.g. '15 bar'"),
    (('"a day"', '20.0', '1.8', '0.4', '15.0', '35.0', '60', '50.0'),
     "bench.duration_s: cannot read 'a day'"),
])
def test_a_value_in_the_wrong_unit_is_a_one_line_error(tmp_path, values, words):
    with pytest.raises(ScenarioError) as err:
        load(tmp_path, *values)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_unit_where_the_key_names_none_is_refused(tmp_path):
    path = tmp_path / "noise.toml"
    path.write_text('[sensors.v0_ph]\nnoise = "0.2 mV"\n')
    with pytest.raises(ScenarioError, match=r"sensors.v0_ph.noise must be a number \(its name "
                                            r"gives no unit to convert to\), got '0.2 mV'"):
        scenario.load(path)
