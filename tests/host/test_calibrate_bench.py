"""Guided calibration on the virtual bench (the real firmware in MicroPython), as a
technician does it through a running logger: `pilotedge cal ph` with the bench's buffers
recovers the electrode's slope and offset, `cal orp` its offset, `cal pump` the pump's true
rate from the cylinder; `cal list` shows them from the boards and, with no logger, from the
log; Ctrl-C and a refused step leave the board as it was."""

import json
import math
import re
import signal
import sqlite3

import pytest
from loggerkit import SMOKE, LoggerProcess, wait_until

from pilotedge import cli, control
from pilotedge.bench import Bench
from pilotedge.ops_cmd import login

# The scenario's instruments, what the calibrations must find.
SLOPE_PCT = 94.0
PH_OFFSET_MV = 9.0
ORP_OFFSET_MV = 12.0
ACID_ERROR = 0.04  # the acid pump delivers 4 % more than its nominal rate


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calbench")
    scenario = folder / "cal.toml"
    text = SMOKE.read_text().replace(
        "[sensors.v0_ph]\n", "[sensors.v0_ph]\nslope_pct = %g\noffset = %g\n" % (
            SLOPE_PCT, PH_OFFSET_MV)).replace(
        "[sensors.v0_orp]\n", "[sensors.v0_orp]\noffset = %g\n" % ORP_OFFSET_MV)
    scenario.write_text(text + "\n[outputs.v0_acid]\ncalibration_error = %g\n" % ACID_ERROR)
    with Bench(scenario, speed=20, workdir=folder / "bench", fresh=True) as b:
        yield b
        assert not b.boards[0].crash, b.boards[0].crash


class Logged:
    """A running logger of the bench board and its log; stop() commits everything."""

    def __init__(self, port, db):
        self.db = db
        self._logger = LoggerProcess(port, "--db", db)
        self._running = True

    def stop(self):
        if self._running:
            self._running = False
            code, _, err = self._logger.stop(signal.SIGTERM)
            assert code == 0, err


@pytest.fixture
def logged(bench, tmp_path, monkeypatch):
    """A running logger of the bench board, announced in this test's runtime folder."""
    monkeypatch.setenv("PILOTEDGE_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.chdir(tmp_path)
    logger = Logged(bench.boards[0].protocol_port, tmp_path / "cal.sqlite")
    try:
        yield logger
    finally:
        logger.stop()


class Technician:
    """Answers the prompts as a technician at the bench: moves the electrode or the cylinder
    when told to, types what it is asked; every prompt is kept."""

    def __init__(self, bench, monkeypatch, capsys, answers=()):
        self.bench = bench
        self.prompts = []
        self.moved = None  # the sensor in a standard
        self.answers = list(answers)
        self.capsys = capsys
        monkeypatch.setattr("builtins.input", self.input)

    def input(self, prompt):
        self.prompts.append(prompt)
        for buffer in ("1.68", "4.01", "7.00"):
            if "into the pH %s buffer" % buffer in prompt:
                self.bench.to_standard(0, "v0_ph", buffer, temp_c=25.0)
                self.moved = "v0_ph"
        if "into quinhydrone_4.01" in prompt:
            self.bench.to_standard(0, "v0_orp", "quinhydrone_4.01", temp_c=25.0)
            self.moved = "v0_orp"
        if "put it back into the vessel" in prompt:
            self.bench.to_vessel(0, self.moved)
        if "cylinder for" in prompt:
            self.bench.pump_to_cylinder(0, "v0_acid")
        if "Volume in the cylinder" in prompt:
            return "%.1f mL" % self.bench.pump_to_vessel(0, "v0_acid")
        if prompt.endswith("press Enter: ") or not self.answers:
            return ""
        return self.answers.pop(0)

    def pilotedge(self, *argv):
        code = cli.main([str(a) for a in argv])
        out, err = self.capsys.readouterr()
        return code, out, err


def ph_error(tech, bench):
    """How far the board's latest pH is from the vessel's (inf while it has none)."""
    code, out, err = tech.pilotedge("status", "sim")
    assert code == 0, err
    read = re.search(r": ph ([-0-9.]+) pH", out)  # "ph invalid" while it is judged afresh
    return math.inf if read is None else abs(float(read[1]) - bench.state(0)["plants"]["v0"][
        "ph"])


def rows(db, sql):
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


def test_guided_calibrations_find_the_instruments(bench, logged, monkeypatch, capsys):
    tech = Technician(bench, monkeypatch, capsys, answers=["25 degC", "4.01", "7", ""])
    code, out, err = tech.pilotedge("cal", "pump", "sim", "v0", "--pump", "acid", "--volume",
                                    "5 mL")
    assert code == 0, out + err
    fit = next(line for line in out.splitlines() if line.startswith("acid: timed run, rate "))
    assert "%+.1f %%)" % (100 * ACID_ERROR) in fit  # the true rate against the nominal

    # The vessel's pH as the board reads it, against the truth: off before.
    off = wait_until(lambda: (e := ph_error(tech, bench)) != math.inf and e, "a pH reading")
    assert off > 0.1
    tech.prompts.clear()
    code, out, err = tech.pilotedge("cal", "ph", "sim", "v0", "--operator", "alice")
    assert code == 0, out + err
    assert tech.prompts[:3] == [
        "Temperature of the buffers [25 degC]: ",
        "Buffer 1 (1.68, 4.01, 6.86, 7.00, 9.18, 10.01): ",
        "Rinse the electrode and put it into the pH 4.01 buffer, then press Enter: "]
    assert tech.prompts[3] == "Buffer 2 (1.68, 4.01, 6.86, 7.00, 9.18, 10.01; Enter to fit): "
    assert "settling: " in out and "% steady" in out  # the board's reports while it settles
    assert out.count("stable: ") == 2
    fit = next(line for line in out.splitlines() if line.startswith("ph: 2-point, slope "))
    slope = float(fit.split("slope ")[1].split(" %")[0])
    offset = float(fit.split("offset ")[1].split(" mV")[0])
    assert slope == pytest.approx(SLOPE_PCT, abs=0.5)
    assert offset == pytest.approx(PH_OFFSET_MV, abs=0.5)
    assert "GOOD; taken " in fit and "expires in 30.0 d" in fit
    wait_until(lambda: ph_error(tech, bench) < 0.02, "the vessel's pH read right")

    code, out, err = tech.pilotedge("cal", "orp", "sim", "v0", "--standard", "4.01",
                                    "--temp", "25 degC")
    assert code == 0, out + err
    fit = next(line for line in out.splitlines() if line.startswith("orp: 1-point, offset "))
    assert float(fit.split("offset ")[1].split(" mV")[0]) == pytest.approx(ORP_OFFSET_MV, abs=1)

    code, out, err = tech.pilotedge("cal", "list")
    assert code == 0, err
    listed = out.splitlines()
    assert [line.split(":")[0] for line in listed] == ["sim v0 ph", "sim v0 orp", "sim v0 acid",
                                                       "sim v0 base"]
    assert listed[0].startswith("sim v0 ph: 2-point, slope ") and "expires in" in listed[0]
    assert listed[3] == "sim v0 base: not calibrated (the nominal rate)"

    # Every step is in the audit trail; the records are in the log, by whom.
    logged.stop()
    audit = rows(logged.db, "SELECT operator, command, arguments, result FROM audit "
                         "ORDER BY id")
    steps = [json.loads(a[2])["step"] for a in audit]
    assert steps[:7] == ["start", "point", "finish", "start", "point", "point", "finish"]
    assert audit[3][:2] == ("alice", "cal") and {a[3] for a in audit} == {"done"}
    cals = rows(logged.db, "SELECT sensor, method, operator FROM calibrations ORDER BY id")
    assert cals == [("acid", "timed run", login()), ("ph", "2-point", "alice"),
                    ("orp", "1-point", login())]
    # With no logger running, `cal list` reads the log.
    code, out, err = tech.pilotedge("cal", "list", "--db", logged.db)
    assert code == 0, err
    listed = out.splitlines()
    assert listed[0] == "no logger runs: calibrations in the log %s" % logged.db
    assert [line.split(":")[0] for line in listed[1:]] == ["sim v0 orp", "sim v0 ph",
                                                           "sim v0 acid"]
    assert listed[2].startswith("sim v0 ph: 2-point, slope ")
    assert listed[2].endswith(" by alice, expires in 30.0 d")


def test_ctrl_c_and_refusals_leave_the_board_as_it_was(bench, logged, monkeypatch, capsys):
    tech = Technician(bench, monkeypatch, capsys)

    def fits():
        code, out, err = tech.pilotedge("cal", "list", "sim")
        assert code == 0, err
        return [line.split(";")[0] for line in out.splitlines()]

    before = fits()

    # A fit the health check refuses: not stored, the calibration cancelled.
    code, out, err = tech.pilotedge("cal", "pump", "sim", "v0", "--pump", "acid", "--volume",
                                    "2 mL", "--measured", "1.2 mL", "--yes")
    assert code == 1
    one_line_error(err, "pilotedge cal: rejected: acid pump calibration of v0 on sim not "
                        "stored: LIMIT (the fit fails the health check")
    assert out.splitlines()[-2:] == ["cancelled: the board keeps the calibration it had",
                                     "Put the pump's outlet back into the vessel."]

    # Ctrl-C at a prompt.
    def interrupt(prompt):
        raise KeyboardInterrupt

    monkeypatch.setattr("builtins.input", interrupt)
    code, out, err = tech.pilotedge("cal", "ph", "sim", "v0", "--temp", "25 degC")
    assert code == 130
    assert out.splitlines()[-2:] == ["cancelled: the board keeps the calibration it had",
                                     "Rinse the electrode and put it back into the vessel."]
    assert fits() == before
    # Another technician's calibration under way: refused, and cancelled by name.
    (state,) = control.loggers()
    control.call(state, {"op": "cal", "board": "sim", "unit": "v0", "operator": "bob",
                         "args": {"step": "start", "kind": "orp"}})
    code, out, err = tech.pilotedge("cal", "ph", "sim", "v0", "--buffer", "4.01", "--temp",
                                    "25 degC", "--yes")
    assert code == 1
    one_line_error(err, "rejected: pH calibration of v0 on sim not started: BUSY (a "
                        "calibration is already under way on this vessel")
    code, out, err = tech.pilotedge("cal", "cancel", "sim", "v0", "orp")
    assert (code, out) == (0, "done: ORP calibration of v0 on sim cancelled: the board keeps "
                              "the calibration it had\n")
    code, out, err = tech.pilotedge("cal", "cancel", "sim", "v0", "orp")
    assert code == 1
    one_line_error(err, "NOT_READY (no calibration under way)")
    # Mistakes in the command: one line each, nothing sent.
    for argv, words in (
            (("ph", "nosuch", "v0", "--buffer", "4.01", "--temp", "25 degC"), "no board 'nosuch'"),
            (("ph", "sim", "v7", "--buffer", "4.01", "--temp", "25 degC"), "has no unit 'v7'"),
            (("ph", "sim", "c0", "--buffer", "4.01", "--temp", "25 degC"), "c0 is a canister"),
            (("ph", "sim", "v0", "--buffer", "5.5"), "no pH buffer '5.5'"),
            (("orp", "sim", "v0", "--standard", "zobell"), "no ORP standard 'zobell'"),
            (("pump", "sim", "v0", "--pump", "acid", "--measured", "9.7 bar"), "is a pressure"),
            (("pump", "sim", "v0", "--pump", "acid", "--volume", "500 mL"), "outside 0.001-100")):
        code, out, err = tech.pilotedge("cal", *argv)
        assert code == 2, (argv, out, err)
        one_line_error(err, words)
    assert fits() == before


def one_line_error(err, *words):
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def test_standalone_on_its_port(bench, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PILOTEDGE_RUNTIME_DIR", str(tmp_path / "runtime"))
    tech = Technician(bench, monkeypatch, capsys)
    route = ("--port", bench.boards[0].protocol_port, "--db", tmp_path / "audit.sqlite")
    code, out, err = tech.pilotedge("cal", "list", *route)
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "sim v0 ph", "sim v0 orp", "sim v0 acid", "sim v0 base"]
    code, out, err = tech.pilotedge("cal", "cancel", "sim", "v0", "ph", *route)
    assert code == 1
    one_line_error(err, "NOT_READY (no calibration under way)")
    audit = rows(tmp_path / "audit.sqlite", "SELECT command, result FROM audit ORDER BY id")
    assert audit == [("cal", "done"), ("cal", "rejected")]

