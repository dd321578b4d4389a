"""Every error a technician can meet with `pilotedge log` and the commands: one line that
names the thing, a non-zero exit status, never a traceback."""

import errno
import os
from types import SimpleNamespace

import pytest
import serial
from loggerkit import SMOKE, ForeignBoard

from pilotedge import cli, ports
from pilotedge.bench import Bench
from pilotedge.link import Link
from pilotproto import messages as m


@pytest.fixture(autouse=True)
def own_runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("PILOTEDGE_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.chdir(tmp_path)


def fails(capsys, status, *argv):
    """Run pilotedge argv; check it fails with `status` and one line; return the line."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == status, (code, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv", [("log",), ("status", "--port")])
def test_no_such_port(capsys, argv):
    err = fails(capsys, 3, *argv, "/dev/pilotedge-no-such-port")
    assert "no such port /dev/pilotedge-no-such-port: is the board plugged in?" in err


def test_permission_denied_says_how_to_join_the_group(capsys, monkeypatch, tmp_path):
    device = tmp_path / "ttyUSB9"
    device.write_text("")

    def refuse(url, **kwargs):  # as pyserial does for a device of the dialout group
        raise serial.SerialException(errno.EACCES, "could not open port %s: [Errno 13] "
                                                   "Permission denied" % url)

    monkeypatch.setattr(ports.serial, "serial_for_url", refuse)
    monkeypatch.setattr(ports.grp, "getgrgid", lambda gid: SimpleNamespace(gr_name="dialout"))
    err = fails(capsys, 3, "status", "--port", device)
    assert "permission denied on %s: join the dialout group that owns it (sudo usermod -aG " \
           "dialout $USER), then log out and in again" % device in err


def test_port_busy(capsys, tmp_path):
    with Bench(SMOKE, speed=20, workdir=tmp_path / "bench", fresh=True) as bench:
        pty = str(bench.boards[0].protocol_port)
        with Link(pty):  # another program holds the port
            err = fails(capsys, 3, "log", pty, "--db", tmp_path / "x.sqlite")
    assert "port %s is busy: another program has it open" % pty in err


def test_no_board_answering(capsys, tmp_path):
    silent = ForeignBoard(silent=True)
    try:
        err = fails(capsys, 3, "status", "--port", silent.url)
    finally:
        silent.close()
    assert "no board answering on %s: no answer to HELLO" % silent.url in err
    assert "is the board powered and running the pilotedge firmware" in err
    err = fails(capsys, 3, "log", "loop://", "--db", tmp_path / "x.sqlite")
    assert "no board answering on loop://: it sends back what the host sends" in err


@pytest.mark.parametrize("argv", [("log",), ("status", "--port")])
def test_a_board_of_another_spec_is_refused(capsys, argv, tmp_path):
    other = ForeignBoard(schema_hash=0x12345678)
    try:
        err = fails(capsys, 3, *argv, other.url, "--db", tmp_path / "x.sqlite")
    finally:
        other.close()
    assert "board 'other-spec' (firmware 9.9.9) speaks protocol %d, schema 0x12345678" \
           % m.VERSION in err
    assert "schema 0x%08X" % m.SCHEMA_HASH in err


def test_no_logger_running(capsys):
    err = fails(capsys, 3, "set", "sim", "v0", "temp_sp", "35 degC")
    assert "no pilotedge logger is running: start one (pilotedge log PORT) or give the " \
           "board's port (--port PORT)" in err


def test_auto_without_a_usb_board(capsys, monkeypatch):
    monkeypatch.setattr(ports.serial.tools.list_ports, "comports", lambda: [])
    err = fails(capsys, 3, "log", "auto")
    assert "auto: no USB serial board plugged in" in err


@pytest.mark.parametrize("db, words", [
    ("missing/folder/x.sqlite", "folder missing/folder does not exist"),
    (".", "it is a folder"),
])
def test_bad_db(capsys, db, words):
    err = fails(capsys, 2, "log", "loop://", "--db", db)
    assert "cannot use %s as a pilotedge log: %s" % (db, words) in err


def test_a_file_that_is_not_a_log(capsys, tmp_path):
    import sqlite3

    with sqlite3.connect(tmp_path / "other.sqlite") as con:
        con.execute("CREATE TABLE recipes (name TEXT)")
    err = fails(capsys, 2, "log", "loop://", "--db", tmp_path / "other.sqlite")
    assert "it is an SQLite file of something else" in err


def test_auto_finds_usb_boards_by_vendor_and_product(monkeypatch):
    found = [SimpleNamespace(device="/dev/ttyUSB1", vid=0x10C4, pid=0xEA60),
             SimpleNamespace(device="/dev/ttyS0", vid=None, pid=None),
             SimpleNamespace(device="/dev/ttyACM0", vid=0x2E8A, pid=0x0005),
             SimpleNamespace(device="/dev/ttyUSB2", vid=0x046D, pid=0xC52B)]  # a mouse dongle
    monkeypatch.setattr(ports.serial.tools.list_ports, "comports", lambda: found)
    assert ports.expand(["auto", "socket://10.0.0.5:4000", "/dev/ttyUSB1"]) == [
        "/dev/ttyACM0", "/dev/ttyUSB1", "socket://10.0.0.5:4000"]


def test_runtime_folder_defaults(monkeypatch):
    from pilotedge import control

    monkeypatch.delenv("PILOTEDGE_RUNTIME_DIR")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert str(control.runtime_dir()) == "/run/user/1000/pilotedge"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert control.runtime_dir().name == "pilotedge-%d" % os.getuid()


def test_the_state_file_of_a_killed_logger_is_ignored_and_removed(tmp_path):
    import json
    import subprocess
    import sys

    from pilotedge import control

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    folder = control.runtime_dir()
    folder.mkdir(parents=True)
    stale = folder / ("logger-%s.json" % dead)
    stale.write_text(json.dumps({"pid": int(dead), "socket": str(tmp_path / "gone.sock"),
                                 "db": "x.sqlite", "ports": ["/dev/ttyUSB0"]}))
    assert control.loggers() == [] and not stale.exists()
