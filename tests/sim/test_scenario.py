"""Scenario files and injected events are checked at load, with one-line library errors."""

import pytest

from pilotedge.bench import scenario
from pilotedge.errors import ScenarioError


@pytest.mark.parametrize("name", scenario.shipped())
def test_every_shipped_scenario_loads(name):
    assert scenario.load(name).board["hal"] == "sim"


@pytest.mark.parametrize("event, message", [
    ({"do": "serial_noise", "direction": "up"}, "direction must be to_host, to_board or both"),
    ({"do": "serial_noise", "flip": 2}, "flip is a probability per byte, 0..1"),
    ({"do": "sensor_open", "target": "v9_ph"}, "sensor_open needs a target among"),
    ({"do": "melt"}, "do = 'melt' is not one of"),
])
def test_a_bad_event_is_refused_before_it_runs(event, message):
    names = scenario.BoardNames(scenario.load("fault_drills").board)
    with pytest.raises(ScenarioError, match=message) as err:
        scenario.check_event(names, event)
    assert "\n" not in str(err.value)


def test_a_typo_in_a_file_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('[bench]\nseeed = 3\n')
    with pytest.raises(ScenarioError, match=r"typo.toml: bench: unknown key seeed \(known: "):
        scenario.load(path)
