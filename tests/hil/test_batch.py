"""HIL: batch accounting and priming through the firmware's commands (issue 13).

A batch's telemetry counts the reagent its doses delivered and the heater's energy, checked
against the truth trace; a prime runs the pump into its line, outside the
delivered totals and the batch but inside the hour budget.
"""

import pytest

from hil import Board, board_seconds, manual_dosing, result, telemetry
from pilotproto import messages as m

pytestmark = pytest.mark.long  # minutes of board time each


def _truth(rig, column):
    return rig.truth().plant("v0")[column][-1]


@pytest.mark.needs("truth")
def test_a_batch_reports_its_reagent_and_heater_energy(rig, board):
    v0 = Board(rig.board).units["v0"]
    manual_dosing(board, v0)
    board.param_set(v0, "dose_interval", 0)
    assert result(board.command(v0, "SET_MODE", m.LOOP_TEMP, m.MODE_MANUAL)) == "DONE"
    board_seconds(board, 5)  # the heater off at both ends: the truth read anywhere there
    acid0, wh0 = _truth(rig, "acid_added_ml"), _truth(rig, "heater_wh")
    started = board.command(v0, "BATCH_START").fields()
    assert (started["result"], started["value"]) == ("DONE", 1)
    said = 0.0
    for ml in (4.0, 6.0):
        done = board.command(v0, "DOSE", m.OUT_ACID, int(ml * 1000)).fields()
        assert done["result"] == "DONE"
        said += done["value"] / 1000
    assert result(board.command(v0, "SET_OUTPUT", m.OUT_HEATER, 60)) == "DONE"
    board_seconds(board, 300)
    assert result(board.command(v0, "SET_OUTPUT", m.OUT_HEATER, 0)) == "DONE"
    board_seconds(board, 5)
    assert result(board.command(v0, "BATCH_STOP")) == "DONE"
    went, wh = _truth(rig, "acid_added_ml") - acid0, _truth(rig, "heater_wh") - wh0
    assert wh == pytest.approx(0.6 * 300 * 300 / 3600, rel=0.05)  # the heater did run
    t = telemetry(board, "VESSEL", lambda f: f["batch"] == 0)
    assert t["batch_acid"] == pytest.approx(said, abs=0.001)
    assert went == pytest.approx(said, rel=0.005)
    assert t["batch_heat"] == pytest.approx(wh, rel=0.01) and t["batch_base"] == 0
    done = board.command(v0, "DOSE", m.OUT_ACID, 1000).fields()  # after the batch
    assert done["result"] == "DONE"
    assert telemetry(board)["batch_acid"] == pytest.approx(said, abs=0.001)


@pytest.mark.needs("truth")
def test_a_prime_fills_the_line_outside_the_totals_within_the_budget(rig, board):
    v0 = Board(rig.board).units["v0"]
    total = manual_dosing(board, v0)
    hour = telemetry(board)["acid_hour"]
    acid0 = _truth(rig, "acid_added_ml")
    done = board.command(v0, "PRIME", m.OUT_ACID, 3000).fields()
    assert (done["result"], done["verb"]) == ("DONE", "PRIME")
    board_seconds(board, 2)
    primed = done["value"] / 1000
    assert _truth(rig, "acid_added_ml") - acid0 == pytest.approx(primed, rel=0.005)
    t = telemetry(board)
    assert t["acid_total"] == total and t["acid_hour"] == pytest.approx(hour + primed, abs=1e-6)
    board.param_set(v0, "acid_ml_hour", hour + primed + 1.0)  # room for 1 mL more this hour
    refused = board.command(v0, "PRIME", m.OUT_ACID, 2000).fields()
    assert (refused["result"], refused["reason"], refused["value"]) == (
        "REJECTED", "LIMIT", m.LIMIT_HOUR)
