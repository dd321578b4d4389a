"""`pilotedge run`: the main job, end to end on the virtual bench (firmware in MicroPython)."""

import json
import sqlite3

from pilotedge import cli
from pilotedge.codec import MESSAGE_IDS, Frame
from pilotedge.run import describe
from pilotproto import convert


def test_run_shows_and_logs_bench_telemetry(tmp_path, capsys):
    db = tmp_path / "log.sqlite"
    code = cli.main(["run", "--speed", "200", "--duration", "6", "--fresh", "--db", str(db),
                     "--workdir", str(tmp_path / "bench")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "sim0: sim firmware" in out
    assert " v0  pH " in out and " c1  P " in out
    with sqlite3.connect(db) as con:
        boards = con.execute("SELECT name, board_id, schema_hash FROM boards").fetchall()
        vessels = [json.loads(f) for (f,) in con.execute(
            "SELECT fields FROM frames WHERE msg = 'VESSEL' ORDER BY id")]
    assert boards[0][:2] == ("sim0", "sim")
    assert len(vessels) >= 5
    # After the first samples the plant's room-temperature vessel shows through the sensors.
    assert 18.0 < vessels[-1]["temp"] < 23.0
    assert 1.0 < vessels[-1]["ph"] < 3.0


def test_run_refuses_an_unusable_log_file(tmp_path, capsys):
    code = cli.main(["run", "--duration", "1", "--db", str(tmp_path)])  # a folder, not a file
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot use" in err and "Traceback" not in err


def _frame(name, **fields):
    msg_id = MESSAGE_IDS[name]
    return Frame(msg_id, 0, 0, tuple(convert.to_raw(msg_id, fields)))


def test_describe_marks_faulted_sensors():
    frame = _frame("VESSEL", unit=0, ph=1.7, temp=35.0, orp=550, ph_sp=1.7, temp_sp=35.0,
                   ph_mode="AUTO", temp_mode="AUTO", outputs=0, heater=12, acid_total=1.5,
                   base_total=0, sensor_ok=0b101, alarms=0)
    line = describe(frame, 12.0)
    assert "pH  1.700" in line and "sensors pH T! ORP" in line and "heater  12%" in line
    assert describe(_frame("HEARTBEAT", uptime=1, state="RUN", faults=0, overruns=0,
                           cycle_max=0, heap_free=0, rx_errors=0), 1.0) is None
