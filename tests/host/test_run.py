"""`pilotedge run`: the main job, end to end on the virtual bench (firmware in MicroPython)."""

import sqlite3

import pytest

from pilotedge import cli
from pilotedge.codec import MESSAGE_IDS, Frame
from pilotedge.run import describe
from pilotproto import convert


def run(capsys, *argv):
    code = cli.main(["run", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_run_shows_and_logs_bench_telemetry(tmp_path, capsys):
    db = tmp_path / "log.sqlite"
    code, out, err = run(capsys, "--speed", 200, "--duration", 6, "--fresh", "--db", db,
                         "--workdir", tmp_path / "bench")
    assert code == 0, err
    assert "sim0: sim firmware" in out
    assert " v0  pH " in out and " c0  P " in out  # the unit names of the board file
    with sqlite3.connect(db) as con:
        boards = con.execute("SELECT name, board_id FROM boards").fetchall()
        vessels = con.execute("SELECT ph, temp FROM vessel ORDER BY id").fetchall()
        (frames,) = con.execute("SELECT frames FROM sessions").fetchone()
    assert boards == [("sim0", "sim")]
    assert len(vessels) >= 5
    # The first frame after boot vouches for no reading: logged as NULL, shown as --.
    assert vessels[0] == (None, None) and " pH -- " in out
    # After the first samples the plant's room-temperature vessel shows through the sensors.
    assert 18.0 < vessels[-1][1] < 23.0
    assert 1.0 < vessels[-1][0] < 3.0
    assert out.rstrip().endswith("logged %d frames to %s" % (frames, db))


def test_each_run_counts_its_own_frames_and_goes_to_its_own_folder(tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--speed", 200, "--duration", 3, "--quiet")
    assert code == 0, err
    (db,) = (tmp_path / "run").glob("*/pilotedge.sqlite")  # run/<timestamp>/pilotedge.sqlite
    first = int(out.split("logged ")[1].split()[0])
    code, out, err = run(capsys, "--speed", 200, "--duration", 3, "--quiet", "--db", db)
    assert code == 0, err
    second = int(out.split("logged ")[1].split()[0])
    with sqlite3.connect(db) as con:
        sessions = con.execute("SELECT frames FROM sessions ORDER BY id").fetchall()
    assert sessions == [(first,), (second,)]


@pytest.mark.parametrize("argv, status, words", [
    (("--duration", 0), 2, "--duration must be > 0 simulated seconds"),
    (("--duration", -5), 2, "--duration must be > 0 simulated seconds"),
    (("--speed", 0), 2, "--speed must be > 0"),
    (("--db", "/proc/nope/x.sqlite"), 2,
     "cannot use /proc/nope/x.sqlite as a pilotedge log: folder /proc/nope does not exist"),
    (("--db", "."), 2, "cannot use . as a pilotedge log: it is a folder"),
    (("--scenario", "no_such_scenario"), 2, "no scenario file no_such_scenario"),
])
def test_run_refuses_bad_options_in_one_line(tmp_path, capsys, monkeypatch, argv, status, words):
    monkeypatch.chdir(tmp_path)
    code, _out, err = run(capsys, "--duration", 1, *argv)
    assert code == status
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_run_refuses_a_workdir_that_is_a_file(tmp_path, capsys):
    workdir = tmp_path / "afile"
    workdir.write_text("")
    code, _out, err = run(capsys, "--duration", 1, "--workdir", workdir, "--db",
                          tmp_path / "x.sqlite")
    assert code == 2 and err.count("\n") == 1
    assert "cannot use %s as the bench's work folder" % workdir in err


def test_run_refuses_a_scenario_value_in_the_wrong_unit(tmp_path, capsys):
    path = tmp_path / "units.toml"
    path.write_text('[plant.v0]\nph0 = "1.8 bar"\n')
    code, _out, err = run(capsys, "--scenario", path, "--duration", 1)
    assert code == 2 and err.count("\n") == 1
    assert "plant.v0.ph0: '1.8 bar' is a pressure, but a pH is wanted" in err


def _frame(name, **fields):
    msg_id = MESSAGE_IDS[name]
    return Frame(msg_id, 0, 0, tuple(convert.to_raw(msg_id, fields)))


def test_describe_marks_faulted_sensors():
    frame = _frame("VESSEL", unit=0, ph=1.7, temp=35.0, orp=550, ph_sp=1.7, temp_sp=35.0,
                   ph_mode="AUTO", temp_mode="AUTO", outputs=0, heater=12, acid_total=1.5,
                   base_total=0, acid_hour=1.5, acid_day=1.5, base_hour=0, base_day=0,
                   acid_res=-0.001, base_res=-0.001, sensor_ok=0b101, alarms=0, cal=0,
                   fe_ratio=0.5, batch=0, batch_acid=0, batch_base=0, batch_heat=0)
    line = describe(frame, 12.0, {0: "v0"}.get)
    assert "pH  1.700" in line and "sensors pH T! ORP" in line and "heater  12%" in line
    assert " v0 " in line and "T -- degC" in line  # a reading the frame does not vouch for
    assert describe(_frame("HEARTBEAT", uptime=1, state="RUN", faults=0, overruns=0,
                           cycle_max=0, heap_free=0, rx_errors=0), 1.0) is None
