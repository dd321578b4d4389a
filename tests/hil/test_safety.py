"""HIL: the board goes safe and stays safe - sensor faults, an over-pressure trip, a watchdog
reset, a power cut in the middle of a config write."""

import pytest

from hil import Board, board_seconds, next_frame, ready, result, telemetry
from pilotedge.errors import LinkError
from pilotproto import messages as m

_TEMP_OK = 1 << 1  # VESSEL.sensor_ok bit 1: temperature


@pytest.mark.needs("sensor_fault", "output_readback")
@pytest.mark.parametrize("kind", ["open", "short"])
def test_a_temperature_sensor_fault_takes_the_heater_off(rig, board, kind):
    spec = Board(rig.board)
    v0 = spec.units["v0"]
    heater = spec.part("v0", "heater")
    ready(board)
    board.param_set(v0, "temp_sp", "45 degC")  # far above the vessel: the heater runs
    assert result(board.command(v0, "SET_MODE", m.LOOP_TEMP, m.MODE_AUTO)) == "DONE"
    telemetry(board, "VESSEL", lambda f: f["heater"] > 0)
    events = board.listen("EVENT")
    rig.sensor_fault(spec.part("v0", "temp"), kind)
    # The vessel's: a shorted DS18B20 holds its 1-Wire bus low, so the canister's second
    # shell sensor on that bus may report first.
    fault = next_frame(events, lambda f: f.fields()["code"] == "SENSOR_FAULT"
                       and f.fields()["unit"] == v0).fields()
    assert fault["kind"] == "RAISED"
    safe = telemetry(board, "VESSEL", lambda f: not f["sensor_ok"] & _TEMP_OK)
    assert safe["heater"] == 0
    board_seconds(board, 3)  # past the heater's time-proportioning window
    assert not rig.output_active(heater)
    rig.sensor_fault(spec.part("v0", "temp"), "ok")
    telemetry(board, "VESSEL", lambda f: f["sensor_ok"] & _TEMP_OK and f["heater"] > 0)


@pytest.mark.needs("pressure_source", "output_readback")
def test_canister_over_pressure_trips_and_closes_the_inlet(rig, board):
    spec = Board(rig.board)
    c0 = spec.units["c0"]
    inlet = spec.part("c0", "inlet")
    ready(board)
    telemetry(board, "CANISTER", lambda f: f["sensor_ok"] & 3 == 3)
    assert result(board.command(c0, "VALVE", 1)) == "DONE"
    assert rig.output_active(inlet)
    events = board.listen("EVENT")
    rig.overpressure("c0")
    trip = next_frame(events, lambda f: f.fields()["code"] == "TRIP").fields()
    assert (trip["unit"], trip["kind"]) == (c0, "LATCHED")
    assert trip["value"] > trip["limit"]  # bar over the trip limit, as the board saw it
    tripped = telemetry(board, "CANISTER", lambda f: f["state"] == "TRIPPED")
    assert tripped["valve_open"] == 0 and not rig.output_active(inlet)
    # The trip holds: the inlet cannot be opened while it is latched.
    assert result(board.command(c0, "VALVE", 1)) == "REJECTED"
    if "truth" in rig.capabilities:
        pressure = rig.truth().plant("c0")["pressure_bar"]
        assert max(pressure) < 35.0  # the relief valve's set point was never reached


def test_a_watchdog_reset_boots_into_safe_outputs_and_says_why(rig, board, dut):
    spec = Board(rig.board)
    v0 = spec.units["v0"]
    ready(board)
    assert result(board.command(v0, "SET_MODE", m.LOOP_TEMP, m.MODE_MANUAL)) == "DONE"
    assert result(board.command(v0, "SET_OUTPUT", m.OUT_HEATER, 100)) == "DONE"
    telemetry(board, "VESSEL", lambda f: f["heater"] == 100)
    boot = board.hello()["boot_count"]
    hellos = board.listen("HELLO")
    # TO_REPL leaves the firmware for the REPL with the watchdog still armed (it cannot be
    # stopped): nothing feeds it, so the board resets.
    assert result(board.command(spec.units["board"], "TO_REPL")) == "DONE"
    dut.write(b"\r\n")
    dut.expect_exact(">>> ", timeout=30)
    hello = next_frame(hellos, lambda f: f.fields()["boot_count"] > boot).fields()
    assert hello["reset_cause"] == "WATCHDOG"
    board.hello()
    board_seconds(board, 3)  # the sensors are valid again: nothing waits for them any more
    after = telemetry(board)
    # The mode persisted, the manual heater did not: a manual output needs the operator
    # again after any reset, so every output is off.
    assert (after["temp_mode"], after["heater"], after["outputs"]) == ("MANUAL", 0, 0)
    if "output_readback" in rig.capabilities:
        assert not any(rig.output_active(o) for o in spec.file["outputs"])


@pytest.mark.needs("flash_cut")
def test_a_power_cut_during_a_config_write_keeps_the_last_good_config(rig, board):
    v0 = Board(rig.board).units["v0"]
    assert board.param_get(v0, "temp_high").value == 45.0
    boot = board.hello()["boot_count"]
    rig.flash_cut(after_bytes=16)
    with pytest.raises(LinkError):  # the power dies while the board stores the value
        board.param_set(v0, "temp_high", 48.0, retries=0)
    rig.wait_boots(2)
    hello = board.hello()
    assert (hello["boot_count"], hello["reset_cause"]) == (boot + 1, "POWER_ON")
    assert board.param_get(v0, "temp_high").value == 45.0  # the old copy survived
