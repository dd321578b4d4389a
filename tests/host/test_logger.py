"""The technician's logger and commands on the virtual bench (the real firmware in
MicroPython), through `pilotedge` as a technician types it: every command through a running
logger and standalone, a pulled cable, a board reboot, a logger killed with SIGKILL."""

import json
import os
import signal
import sqlite3

import pytest
from loggerkit import SMOKE, Cable, LoggerProcess, wait_until

from pilotedge import cli, ops
from pilotedge.bench import Bench
from pilotedge.errors import LinkError
from pilotedge.logger import Logger
from pilotedge.ops_cmd import login


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    with Bench(SMOKE, speed=20, workdir=tmp_path_factory.mktemp("bench"), fresh=True) as b:
        yield b
        assert not b.boards[0].crash, b.boards[0].crash


@pytest.fixture
def pty(bench):
    return str(bench.boards[0].protocol_port)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Loggers announce themselves in this test's own runtime folder."""
    monkeypatch.setenv("PILOTEDGE_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.chdir(tmp_path)
    return dict(os.environ)


@pytest.fixture
def pilotedge(capsys):
    """pilotedge(*argv) -> (exit status, stdout, stderr), in this process."""
    def call(*argv):
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def rows(db, sql, *args):
    with sqlite3.connect(db) as con:
        return con.execute(sql, args).fetchall()


def one_line_error(err, *words):
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def technician_session(pilotedge, *where):
    """Every command once, as a technician would; returns the outputs by command."""
    out = {}
    # A logger that just started has no telemetry to show yet; it does within a second.
    code, out["status"], _ = wait_until(
        lambda: (answer := pilotedge("status", *where))[0] == 0
        and "no telemetry yet" not in answer[1] and answer, "telemetry in the status")
    code, out["set"], err = pilotedge("set", "sim", "v0", "temp_sp", "34.5", "degC",
                                    "--operator", "alice", *where)
    assert code == 0, out["set"] + err
    code, out["set_f"], err = pilotedge("set", "sim", "v0", "temp_sp", "95 degF", "--units",
                                      "degF", *where)
    assert code == 0, out["set_f"] + err
    # The board keeps temp_sp below temp_high (45 degC): its refusal is exit status 1.
    code, out["refused"], err = pilotedge("set", "sim", "v0", "temp_sp", "50 degC", *where)
    assert code == 1, out["refused"] + err
    code, out["mode"], err = pilotedge("mode", "sim", "v0", "ph", "manual", *where)
    assert code == 0, out["mode"] + err
    code, out["dose"], err = pilotedge("dose", "sim", "v0", "acid", "0.2", "mL", *where)
    assert code == 0, out["dose"] + err
    code, out["ack"], err = pilotedge("ack", "sim", "v0", "PH_HIGH", *where)
    assert code == 0, out["ack"] + err
    code, out["batch_start"], err = pilotedge("batch", "start", "sim", "v0", *where)
    assert code == 0, out["batch_start"] + err
    code, out["dose_auto"], err = pilotedge("dose", "sim", "v0", "acid", "0.2 mL", *where)
    assert code == 1, out["dose_auto"] + err
    code, out["batch_stop"], err = pilotedge("batch", "stop", "sim", "v0", *where)
    assert code == 0, out["batch_stop"] + err
    return out


def check_answers(out):
    assert "sim (sim) on " in out["status"] and ": up" in out["status"]
    assert "v0 vessel" in out["status"] and "c0 canister" in out["status"]
    assert " degC" in out["status"] and " bar" in out["status"]
    assert out["set"].startswith("done: temp_sp of v0 on sim is 34.50 degC (was ")
    assert out["set_f"] == "done: temp_sp of v0 on sim is 95.00 degF (was 94.10 degF)\n"
    assert out["refused"].startswith("rejected: temp_sp of v0 on sim stays 35.00 degC: "
                                     "OUT_OF_RANGE")
    assert out["mode"] == "done: PH loop of v0 on sim is MANUAL\n"
    dose = out["dose"].splitlines()
    assert dose[0].startswith("in progress: 0.200 mL of acid into v0")
    assert dose[-1] == "done: 0.200 mL of acid into v0 on sim"
    assert out["ack"] == "done: PH_HIGH acknowledged on v0 on sim\n"
    assert out["batch_start"] == ("done: batch started on v0 on sim (loops PH, TEMP, ORP "
                                  "AUTO)\n")
    assert out["dose_auto"].startswith("rejected: dose of 0.200 mL of acid into v0: WRONG_MODE")
    assert out["batch_stop"].startswith("done: batch stopped on v0")


def check_audit(db, operator):
    audit = rows(db, "SELECT operator, os_user, origin, board, unit, command, arguments, "
                     "result, reason, cmd_id FROM audit ORDER BY id")[:9]
    assert [a[5] for a in audit] == ["set", "set", "set", "mode", "dose", "ack", "batch",
                                     "dose", "batch"]
    assert audit[0][:5] == ("alice", login(), "cli", "sim", "v0")
    assert json.loads(audit[0][6]) == {"param": "temp_sp", "value": "34.5 degC"}
    assert {a[0] for a in audit[1:]} == {operator}
    assert [a[7] for a in audit] == ["done", "done", "rejected", "done", "done", "done",
                                     "done", "rejected", "done"]
    assert audit[2][8] == "OUT_OF_RANGE" and audit[7][8] == "WRONG_MODE"
    dose_id = audit[4][9]
    answers = rows(db, "SELECT result, verb, value FROM ack WHERE cmd_id = ? ORDER BY id",
                   dose_id)
    assert answers[0][:2] == ("IN_PROGRESS", "DOSE") and answers[-1] == ("DONE", "DOSE", 200)
    changes = rows(db, "SELECT name, new, value_unit FROM param_changes ORDER BY id")
    assert ("temp_sp", 34.5, "degC") in changes and ("temp_sp", 35.0, "degC") in changes
    (batch,) = rows(db, "SELECT unit, started < ended FROM batches")
    assert batch == (0, 1)


def test_every_command_through_a_running_logger(bench, pty, env, tmp_path, pilotedge):
    db = tmp_path / "line3.sqlite"
    logger = LoggerProcess(pty, "--db", db, env=env)
    try:
        assert (tmp_path / "line3.sqlite.logger.json").is_file()  # the announcement
        check_answers(technician_session(pilotedge))
        code, _, err = pilotedge("set", "sim", "v0", "temp_sp", "5 bar")
        assert code == 2
        one_line_error(err, "'5 bar' is a pressure, but a temperature is wanted (in degC)")
        code, _, err = pilotedge("dose", "sim", "v0", "acid", "5 bar")
        one_line_error(err, "'5 bar' is a pressure, but a volume is wanted")
        code, _, err = pilotedge("mode", "sim", "c0", "ph", "auto")
        assert code == 2
        one_line_error(err, "c0 is a canister: set_mode is for vessel")
        for argv, words in ((("set", "nosuch", "v0", "temp_sp", "35 degC"), "no board 'nosuch'"),
                            (("set", "sim", "v7", "temp_sp", "35 degC"), "has no unit 'v7'"),
                            (("set", "sim", "v0", "p_msl", "25 bar"), "unknown parameter 'p_msl'"),
                            (("status", "--units", "zorkmids"), "'zorkmids' is not a unit")):
            code, _, err = pilotedge(*argv)
            assert code == 2, argv
            one_line_error(err, words)
    finally:
        code, out, err = logger.stop(signal.SIGTERM)
    assert code == 0, err
    assert not (tmp_path / "line3.sqlite.logger.json").exists()
    check_audit(db, login())
    # Commands the host refused are audited too, unsent, with why (no such board: none).
    refused = rows(db, "SELECT command, result, reason FROM audit ORDER BY id")[9:]
    assert [r[:2] for r in refused] == [("set", "not sent"), ("dose", "not sent"),
                                        ("mode", "not sent"), ("set", "not sent"),
                                        ("set", "not sent")]
    assert "is a pressure" in refused[0][2] and "p_msl" in refused[4][2]
    (session,) = rows(db, "SELECT ended IS NOT NULL, end_reason, frames FROM sessions")
    stored = sum(rows(db, "SELECT count(*) FROM %s" % t)[0][0] for t in (
        "hello", "heartbeat", "vessel", "canister", "event", "ack", "param_value", "log"))
    assert session == (1, "stopped", stored)  # every frame the logger took is in the file
    assert out.rstrip().endswith("logged %d frames to %s" % (stored, db))


def test_every_command_standalone_on_its_port(bench, pty, env, tmp_path, pilotedge):
    db = tmp_path / "audit.sqlite"
    check_answers(technician_session(pilotedge, "--port", pty, "--db", db))
    check_audit(db, login())
    # A port a running logger owns is refused, naming the logger.
    logger = LoggerProcess(pty, "--db", tmp_path / "other.sqlite", env=env)
    try:
        code, _, err = pilotedge("status", "--port", pty)
        assert code == 3
        one_line_error(err, "port %s is busy: the pilotedge logger (pid %d" % (
            pty, logger.proc.pid), "leave out --port")
    finally:
        logger.stop(signal.SIGTERM)


def test_a_pulled_cable_is_a_gap_then_the_board_is_logged_again(bench, tmp_path):
    cable = Cable(bench.boards[0].protocol_port)
    db = tmp_path / "cable.sqlite"
    try:
        with Logger([cable.url], db, control=False) as logger:
            port = logger.ports[0]
            wait_until(lambda: 0 in port.latest, "telemetry")
            cable.unplug()
            wait_until(lambda: port.state == "unplugged", "the logger sees the cable go")
            with pytest.raises(LinkError, match="board sim on %s is not reachable: unplugged "
                                                "since" % cable.url):
                ops.execute(logger, {"op": "mode", "board": "sim", "unit": "v0",
                                     "args": {"loop": "ph", "mode": "auto"}})
            cable.plug()
            wait_until(lambda: port.state == "up", "the logger reconnects")
            back = port.since
            wait_until(lambda: port.latest[0][0] > back, "telemetry after the reconnect")
    finally:
        cable.close()
    assert rows(db, "SELECT command, result FROM audit") == [("mode", "not sent")]
    (gap,) = rows(db, "SELECT kind, started < ended, detail FROM gaps WHERE kind != 'sequence'")
    assert gap[:2] == ("unplugged", 1) and "disconnected" in gap[2]
    assert len(rows(db, "SELECT id FROM boots")) == 1  # the board ran on: the same boot
    (ended,) = rows(db, "SELECT ended FROM gaps WHERE kind = 'unplugged'")[0]
    assert rows(db, "SELECT count(*) FROM vessel WHERE host_time > ?", ended)[0][0] >= 1


def test_a_board_reboot_is_a_new_boot(bench, pty, tmp_path):
    db = tmp_path / "reboot.sqlite"
    with Logger([pty], db, control=False) as logger:
        port = logger.ports[0]
        first = port.hello["boot_count"]
        bench.reset(0)
        wait_until(lambda: port.hello["boot_count"] == first + 1, "the board's new HELLO")
        boot = port.hello["boot_count"]
        wait_until(lambda: rows(db, "SELECT count(*) FROM vessel JOIN boots ON boots.id = "
                                    "vessel.boot WHERE boot_count = ?", boot)[0][0],
                   "telemetry of the new boot")
        assert port.state == "up"
    boots = rows(db, "SELECT boot_count, reset_cause, firmware, schema_hash FROM boots")
    assert [b[:2] for b in boots] == [(first, boots[0][1]), (boot, "HARD")]
    assert boots[1][3] == "%08X" % port.hello["schema_hash"]


def test_a_logger_killed_with_sigkill_leaves_an_intact_log(bench, pty, env, tmp_path):
    db = tmp_path / "killed.sqlite"
    logger = LoggerProcess(pty, "--db", db, env=env)
    try:
        seen = wait_until(lambda: rows(db, "SELECT count(*) FROM vessel")[0][0] >= 10,
                          "ten committed telemetry frames")
        before = rows(db, "SELECT count(*) FROM vessel")[0][0]
    finally:
        code, _, _ = logger.stop(signal.SIGKILL)
    assert seen and code == -signal.SIGKILL
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    after = rows(db, "SELECT count(*) FROM vessel")[0][0]
    assert after >= before  # everything committed before the kill is there
    ids = [i for (i,) in rows(db, "SELECT id FROM vessel ORDER BY id")]
    assert ids == list(range(1, len(ids) + 1))  # whole commits only, nothing half-written
    # The next logger on the same file goes on, and says the last session did not close.
    with Logger([pty], db, control=False):
        pass
    sessions = rows(db, "SELECT end_reason FROM sessions ORDER BY id")
    assert sessions[0][0].startswith("not closed") and sessions[1][0] == "stopped"
