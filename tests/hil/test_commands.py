"""HIL: no command can fault a board - every verb's arguments at, below and above the ranges
the spec gives them - and a command runs once however many others come between its copies."""

import itertools

import pytest

from hil import Board, board_seconds, manual_dosing, next_frame, ready, result, telemetry
from pilotedge import codec
from pilotproto import messages as m
from pilotproto import schema as s

# REBOOT and TO_REPL reset or stop a board by design; the watchdog test covers TO_REPL.
_LEAVING = ("REBOOT", "TO_REPL")
_BURST = 48  # new commands sent before letting the board's 64-in-64-s memory drain
_IDS = itertools.count(0x5EC0_0000)


def _cases(units):
    """(unit, verb, arg0, arg1, in range) for every verb on every unit kind it addresses:
    both arguments at their ends, then each one just below and just above its range (an
    argument the verb does not take must be 0: 1 is above it)."""
    cases = []
    for verb, (kinds, *args) in s.VERBS.items():
        if verb in _LEAVING:
            continue
        ends = [(0, 0) if a is None else (a[3], a[4]) for a in args]
        for unit in [n for kind in kinds for n in units.get(kind, ())]:
            for pick in (0, 1):
                cases.append((unit, verb, ends[0][pick], ends[1][pick], True))
            for i in (0, 1):
                lo, hi = ends[i]
                for bad in (() if args[i] is None else (lo - 1,)) + (hi + 1,):
                    values = [ends[0][0], ends[1][0]]
                    values[i] = bad
                    cases.append((unit, verb, values[0], values[1], False))
    return cases


def _units(rig):
    board = Board(rig.board)
    units = {kind: [board.units[n] for n in names] for kind, names in board.names.units.items()}
    units["board"] = [m.UNIT_BOARD]
    return units


def _send(board, unit, verb, arg0, arg1):
    """One COMMAND as raw wire values (the host library would refuse an out-of-range one)."""
    cmd_id = next(_IDS)
    values = [cmd_id, unit, getattr(m, "VERB_" + verb), arg0, arg1]
    board.write_raw(codec.encode_raw(m.MSG_COMMAND, values, 0))
    return cmd_id


def _control_state(board):
    """What a refused command must not change: modes, set points, outputs, valve, trips."""
    v = telemetry(board, "VESSEL")
    c = telemetry(board, "CANISTER")
    return ({k: v[k] for k in ("ph_mode", "temp_mode", "ph_sp", "temp_sp", "outputs")},
            {k: c[k] for k in ("state", "valve_open")})


def _run(board, cases, acks):
    """Send the cases in bursts the board's exactly-once memory takes; their final ACKs."""
    answers, sent_all = {}, {}
    for start in range(0, len(cases), _BURST):
        sent = {_send(board, *case[:4]): case for case in cases[start:start + _BURST]}
        sent_all.update(sent)
        while sent.keys() - answers.keys():
            ack = next_frame(acks, lambda f: f.fields()["result"] != "IN_PROGRESS").fields()
            answers[ack["cmd_id"]] = ack
        board_seconds(board, 66)  # the memory forgets them: the next burst is not BUSY
    return {case: answers[cmd_id] for cmd_id, case in sent_all.items()}


def test_no_command_argument_faults_the_board_and_a_refused_one_changes_nothing(rig, board):
    ready(board)
    cases = _cases(_units(rig))
    boot = board.hello()["boot_count"]
    beats = board.listen("HEARTBEAT")
    acks = board.listen("ACK")
    before = _control_state(board)
    refused = _run(board, [c for c in cases if not c[4]], acks)
    assert {(a["result"], a["reason"]) for a in refused.values()} == {("REJECTED",
                                                                       "OUT_OF_RANGE")}
    assert _control_state(board) == before
    _run(board, [c for c in cases if c[4]], acks)  # at the ends: run or refused, never a fault
    states = {f.fields()["state"] for f in list(beats.queue)}
    assert "FAULT" not in states
    assert board.hello()["boot_count"] == boot  # no reset on the way
    assert result(board.command(m.UNIT_BOARD, "PING")) == "DONE"


def test_a_dose_runs_once_with_forty_commands_between_its_copies(rig, board):
    v0 = Board(rig.board).units["v0"]
    before = manual_dosing(board, v0)
    acks = board.listen("ACK")
    dose = _send(board, v0, "DOSE", m.OUT_ACID, 500)
    for _ in range(40):
        _send(board, v0, "PING", 0, 0)
    board.write_raw(codec.encode_raw(m.MSG_COMMAND, [dose, v0, m.VERB_DOSE, m.OUT_ACID, 500], 1))
    answers = [next_frame(acks, lambda f: f.fields()["cmd_id"] == dose).fields()
               for _ in range(2)]
    assert [a["result"] for a in answers] == ["IN_PROGRESS", "IN_PROGRESS"]
    next_frame(acks, lambda f: f.fields()["cmd_id"] == dose and f.fields()["result"] == "DONE")
    board_seconds(board, 10)
    assert telemetry(board)["acid_total"] == pytest.approx(before + 0.5, abs=1e-6)
