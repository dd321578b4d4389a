"""HIL: the protocol as a board speaks it - identity, parameters, exactly-once commands, and
frames that line noise has damaged."""

import random

import pytest

from hil import Board, board_seconds, manual_dosing, next_frame, ready, result, telemetry
from pilotedge import codec
from pilotproto import messages as m


def test_hello_reports_identity_and_schema_hash(rig, board):
    hello = board.hello()
    spec = Board(rig.board)
    assert hello["board_id"] == spec.file["board"]
    assert (hello["proto_version"], hello["schema_hash"]) == (m.VERSION, m.SCHEMA_HASH)
    assert (hello["vessels"], hello["canisters"]) == (len(spec.names.units["vessel"]),
                                                      len(spec.names.units["canister"]))
    assert hello["boot_count"] >= 1


def test_parameters_round_trip_and_refusals(rig, board):
    units = Board(rig.board).units
    v0, c0 = units["v0"], units["c0"]
    old = board.param_get(v0, "temp_high").value
    try:
        answer = board.param_set(v0, "temp_high", "48 degC")
        assert (answer.result, answer.value) == ("OK", 48.0)
        assert board.param_get(v0, "temp_high").value == 48.0
    finally:
        board.param_set(v0, "temp_high", old)
    # Inside the protocol's range but above the board's hardware limit (30 bar): refused, the
    # value in force is echoed.
    msl = board.param_get(c0, "p_msl").value
    answer = board.param_set(c0, "p_msl", 35.0)
    assert (answer.result, answer.value) == ("OUT_OF_RANGE", msl)
    # A low-pH alarm above the set point breaks the order low < set point < high.
    answer = board.param_set(v0, "ph_low", 3.0)
    assert answer.result == "OUT_OF_RANGE" and answer.value < board.param_get(v0, "ph_sp").value


def test_a_retransmitted_command_runs_exactly_once(rig, board):
    v0 = Board(rig.board).units["v0"]
    before = manual_dosing(board, v0)
    acks = board.listen("ACK")
    # The same COMMAND (same cmd_id) four times before any answer can come back, as a host
    # sends it after three lost ACKs.
    command = {"cmd_id": random.getrandbits(32), "unit": v0, "verb": "DOSE",
               "arg0": m.OUT_ACID, "arg1": 500}
    board.write_raw(b"".join(codec.encode("COMMAND", command, seq) for seq in range(4)))
    first = next_frame(acks, lambda f: f.fields()["verb"] == "DOSE").fields()
    copies = [first] + [next_frame(acks, lambda f, c=first["cmd_id"]: f.fields()["cmd_id"] == c)
                        .fields() for _ in range(3)]
    assert {c["cmd_id"] for c in copies} == {first["cmd_id"]}  # every copy was answered
    assert first["result"] == "IN_PROGRESS"
    done = next_frame(acks, lambda f: f.fields()["cmd_id"] == first["cmd_id"]
                      and f.fields()["result"] == "DONE").fields()
    assert done["value"] == 500
    board_seconds(board, 10)
    assert telemetry(board)["acid_total"] == pytest.approx(before + 0.5, abs=1e-6)


def test_dose_budget_holds_under_a_flood_of_commands(rig, board):
    v0 = Board(rig.board).units["v0"]
    ready(board)
    old = board.param_get(v0, "acid_ml_hour").value
    board.param_set(v0, "acid_ml_hour", "2 mL")
    board.param_set(v0, "dose_interval", 0)  # only the budget limits this flood
    try:
        assert result(board.command(v0, "SET_MODE", m.LOOP_PH, m.MODE_MANUAL)) == "DONE"
        events = board.listen("EVENT")
        before = telemetry(board)["acid_total"]
        answers = {}
        end = board_seconds(board, 0)["uptime"] + 90  # 90 s of the board's time
        beats = board.listen("HEARTBEAT")
        while next_frame(beats, lambda f: True, 30).fields()["uptime"] < end:
            for _ in range(5):  # far more than the pump can take: most are refused
                ack = board.command(v0, "DOSE", m.OUT_ACID, 500).fields()
                answers[ack["reason"]] = answers.get(ack["reason"], 0) + 1
        board_seconds(board, 15)  # the last accepted dose runs out
        delivered = telemetry(board)["acid_total"] - before
        assert delivered <= 2.0 + 1e-6  # the hour's budget
        # Three: each dose holds half a second of flow more until it ends (units/pump.py).
        assert answers.get("LIMIT", 0) > 0 and answers.get("NONE", 0) == 3
        assert next_frame(events, lambda f: f.fields()["code"] == "DOSE_LIMIT")
        if "truth" in rig.capabilities:
            vessel = rig.truth().plant("v0")["acid_added_ml"]
            assert vessel[-1] - vessel[0] <= 2.0 + 1e-6
    finally:
        board.command(v0, "STOP")
        board.param_set(v0, "acid_ml_hour", old)


def test_damaged_frames_from_the_host_are_never_accepted(rig, board):
    v0 = Board(rig.board).units["v0"]
    before = manual_dosing(board, v0)
    errors_before = board_seconds(board, 0)["rx_errors"]
    acks = board.listen("ACK")
    frame = bytearray(codec.encode("COMMAND", {"cmd_id": 0x7E57, "unit": v0, "verb": "DOSE",
                                               "arg0": m.OUT_ACID, "arg1": 1000}, 0))
    rng = random.Random(7)
    for _ in range(200):  # 1-3 flipped bits anywhere but the delimiter
        damaged = bytearray(frame)
        for _ in range(rng.randint(1, 3)):
            damaged[rng.randrange(len(damaged) - 1)] ^= 1 << rng.randrange(8)
        board.write_raw(b"\x00" + damaged)
    assert result(board.command(v0, "PING")) == "DONE"  # the board still answers
    beat = board_seconds(board, 3)
    assert beat["rx_errors"] > errors_before
    assert all(a.fields()["cmd_id"] != 0x7E57 for a in list(acks.queue))
    assert telemetry(board)["acid_total"] == before


@pytest.mark.needs("line_noise")
def test_line_noise_to_the_host_never_yields_a_bogus_frame(rig, board):
    ready(board)
    rig.line_noise(flip=0.003, drop=0.002, insert=0.002)
    frames = board.listen("VESSEL", "CANISTER", "HEARTBEAT")
    got = [next_frame(frames, lambda f: True) for _ in range(100)]
    assert board.counters()["errors"]["crc"] > 0  # the noise did damage frames
    rig.line_noise(flip=0.0, drop=0.0, insert=0.0)
    # What got through is what the board sent: consistent values, no garbage.
    for frame in got:
        f = frame.fields()
        if frame.name == "HEARTBEAT":
            assert f["state"] in ("BOOT", "RUN", "SAFE", "FAULT")
        else:
            # A vessel has 4 sensor bits (pH, T, ORP, T2), a canister 5 (P, shell, room,
            # shell2, flow).
            assert f["unit"] in (0, 1) and f["sensor_ok"] < (16 if frame.name == "VESSEL" else 32)
