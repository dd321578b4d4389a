"""HIL: calibrations through the firmware's commands, as a technician takes them (issue 13).

A two-point pH calibration with the rig's buffers recovers the electrode's slope within 1 %
and its offset within 1 mV (the bench's electrode: 96 %, +8 mV); an ORP offset calibration
against quinhydrone finds the electrode's offset; a pump calibration into the measuring
cylinder brings the pump's reported total within 0.5 % of what it delivers (the bench's base
pump: 3 % under its nominal rate). Records are read back over the protocol, survive a reboot,
and an expired one warns while it stays in force.
"""

import time

import pytest

from hil import (
    Board,
    board_seconds,
    calibrate_pump,
    drain,
    next_frame,
    ready,
    result,
    take_point,
    telemetry,
)
from pilotproto import messages as m

pytestmark = pytest.mark.long  # minutes of board time each
ELECTRODE = {"slope": 96.0, "offset": 8.0}  # the bench's (tests/hil/scenarios/hil.toml)
ORP_OFFSET = 12.0
BASE_RATE = 0.97  # the bench's base pump delivers 3 % under its nominal rate
PH_BIT = 1 << m.CAL_FLAG_PH


def start(rig, board, role, kind):
    # The board ready and an electrode's calibration started: (v0's number, its sensor).
    spec = Board(rig.board)
    v0 = spec.units["v0"]
    ready(board)
    assert result(board.command(v0, "CAL_START", kind)) == "DONE"
    return v0, spec.part("v0", role)


@pytest.mark.needs("buffer_station")
def test_a_two_point_ph_calibration_recovers_the_electrode(rig, board):
    assert not telemetry(board)["cal"] & PH_BIT  # the ideal electrode: uncalibrated
    v0, sensor = start(rig, board, "ph", m.CAL_KIND_PH)
    held = telemetry(board, "VESSEL", lambda f: not f["sensor_ok"] & 1)  # pH loop held
    assert held["outputs"] & 3 == 0
    take_point(rig, board, v0, sensor, "4.01", 4010)
    take_point(rig, board, v0, sensor, "1.68", 1680)
    rig.to_vessel(sensor)  # rinsed and back, then the fit: the loop resumes once it settled
    records = board.listen("CAL")
    finish = board.command(v0, "CAL_FINISH").fields()
    assert (finish["result"], finish["value"]) == ("DONE", m.HEALTH_GOOD)
    cal = next_frame(records, lambda f: f.fields()["kind"] == "PH").fields()
    assert cal["points"] == 2 and cal["health"] == "GOOD" and cal["life"] == 720
    assert cal["slope"] == pytest.approx(ELECTRODE["slope"], rel=0.01)
    assert cal["offset"] == pytest.approx(ELECTRODE["offset"], abs=1.0)
    vessel = telemetry(board, "VESSEL", lambda f: f["sensor_ok"] & 1)
    assert vessel["cal"] & PH_BIT and not vessel["cal"] & 1 << m.CAL_FLAG_PH_EXPIRED
    if "truth" in rig.capabilities:  # now the reading is the broth's pH
        board_seconds(board, 60)
        true_ph = rig.truth().plant("v0")["ph"][-1]
        assert telemetry(board, "VESSEL")["ph"] == pytest.approx(true_ph, abs=0.02)
    # Readable over the protocol, and kept across a reboot.
    boot = board.hello()["boot_count"]
    hellos = board.listen("HELLO")
    assert result(board.command(Board(rig.board).units["board"], "REBOOT")) == "DONE"
    next_frame(hellos, lambda f: f.fields()["boot_count"] > boot)
    board.hello()
    records = board.listen("CAL")
    read = board.command(v0, "CAL_READ", m.CAL_KIND_PH).fields()
    assert (read["result"], read["value"]) == ("DONE", 1)
    again = next_frame(records, lambda f: f.fields()["kind"] == "PH").fields()
    assert {k: again[k] for k in ("slope", "offset", "points")} == {
        k: cal[k] for k in ("slope", "offset", "points")}


@pytest.mark.needs("buffer_station")
def test_an_orp_offset_calibration_and_its_expiry(rig, board):
    v0, sensor = start(rig, board, "orp", m.CAL_KIND_ORP)
    take_point(rig, board, v0, sensor, "quinhydrone_4.01", 4010)
    rig.to_vessel(sensor)
    events = board.listen("EVENT")
    records = board.listen("CAL")
    assert result(board.command(v0, "CAL_FINISH")) == "DONE"
    cal = next_frame(records, lambda f: f.fields()["kind"] == "ORP").fields()
    assert cal["offset"] == pytest.approx(ORP_OFFSET, abs=1.0) and cal["health"] == "GOOD"
    vessel = telemetry(board, "VESSEL", lambda f: f["sensor_ok"] & 1 << 2)
    if "truth" in rig.capabilities:  # ORP on the SHE scale, the offset taken out
        board_seconds(board, 60)
        true_she = rig.truth().plant("v0")["orp_mv_she"][-1]
        assert telemetry(board, "VESSEL")["orp"] == pytest.approx(true_she, abs=3)
    assert vessel["cal"] & 1 << m.CAL_FLAG_ORP
    # The electrode's 300 mV jump back into the broth is a move, not a sensor fault.
    assert not [e for e in drain(events) if e.fields()["code"] == "SENSOR_FAULT"]
    # A month on by the host's clock: expired, a warning; still in force.
    board.send_time(time.time() + 31 * 86400)
    expired = next_frame(events, lambda f: f.fields()["code"] == "CAL_EXPIRED").fields()
    assert (expired["kind"], expired["severity"], expired["value"]) == (
        "RAISED", "WARNING", m.CAL_KIND_ORP)
    vessel = telemetry(board, "VESSEL", lambda f: f["cal"] & 1 << m.CAL_FLAG_ORP_EXPIRED)
    assert vessel["cal"] & 1 << m.CAL_FLAG_ORP and vessel["sensor_ok"] & 1 << 2


@pytest.mark.needs("cylinder", "truth")
def test_a_pump_calibration_brings_its_total_within_half_a_percent(rig, board):
    spec = Board(rig.board)
    v0 = spec.units["v0"]
    ready(board)
    assert result(board.command(v0, "SET_MODE", m.LOOP_PH, m.MODE_MANUAL)) == "DONE"
    board.param_set(v0, "dose_interval", 0)

    def dose(ml):
        # A host dose: (what the board says it delivered, what went into the vessel), mL.
        before = rig.truth().plant("v0")["base_added_ml"][-1]
        done = board.command(v0, "DOSE", m.OUT_BASE, int(ml * 1000)).fields()
        assert done["result"] == "DONE"
        board_seconds(board, 2)
        return done["value"] / 1000, rig.truth().plant("v0")["base_added_ml"][-1] - before

    said, went = dose(10.0)
    assert went == pytest.approx(said * BASE_RATE, rel=0.002)  # the nominal rate: 3 % short
    cal, ml = calibrate_pump(rig, board, v0, spec.part("v0", "base"), "BASE")
    assert cal["rate"] == pytest.approx(5.0 * BASE_RATE, rel=0.002) and cal["points"] == 1
    assert ml == pytest.approx(20.0 * BASE_RATE, rel=0.01)
    assert telemetry(board)["cal"] & 1 << m.CAL_FLAG_BASE
    said, went = dose(10.0)
    assert said == pytest.approx(went, rel=0.005)
