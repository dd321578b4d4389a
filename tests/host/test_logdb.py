"""The log file on its own: schema and migrations, readings that are not measurements, alarms,
parameter changes, sequence gaps, the audit trail, the telemetry view."""

import random
import sqlite3

import pytest

from pilotedge import boardinfo, logdb
from pilotedge.codec import MESSAGE_IDS, Frame
from pilotedge.errors import LogError
from pilotedge.logdb import LogDB, Source
from pilotproto import convert, framing
from pilotproto import messages as m
from pilotproto import schema as s

HELLO = {"board_id": "sim", "fw_major": 0, "fw_minor": 1, "fw_patch": 0,
         "proto_version": m.VERSION, "schema_hash": m.SCHEMA_HASH, "boot_count": 7,
         "reset_cause": "POWER_ON", "vessels": 1, "canisters": 1, "uptime": 0.0}
VESSEL = {"unit": 0, "ph": 1.712, "temp": 35.02, "orp": 612, "ph_sp": 1.7, "temp_sp": 35.0,
          "ph_mode": "AUTO", "temp_mode": "AUTO", "outputs": 0, "heater": 12,
          "acid_total": 1.5, "base_total": 0.0, "acid_hour": 1.5, "acid_day": 1.5,
          "base_hour": 0.0, "base_day": 0.0, "acid_res": -0.001, "base_res": -0.001,
          "sensor_ok": 0b111, "alarms": 0, "cal": 0, "fe_ratio": 0.5, "batch": 1,
          "batch_acid": 1.5, "batch_base": 0.0, "batch_heat": 2.5}


def frame(msg, seq=0, **fields):
    msg_id = MESSAGE_IDS[msg]
    return Frame(msg_id, seq, 0, tuple(convert.to_raw(msg_id, fields)))


def event(kind, code, **more):
    return frame("EVENT", **dict(dict(unit=0, kind=kind, code=code, severity="ALARM",
                                      value=2.41, limit=2.3, uptime=10.0), **more))


@pytest.fixture
def log(tmp_path):
    db = LogDB(tmp_path / "log.sqlite", command="test")
    src = Source("/dev/ttyUSB0")
    db.hello(src, HELLO, "sim", 100.0)
    yield db, src, tmp_path / "log.sqlite"
    db.close()


def q(path, sql, *args):
    with sqlite3.connect(path) as con:
        return con.execute(sql, args).fetchall()


def test_readings_a_frame_does_not_vouch_for_are_null(log):
    db, src, path = log
    db.frame(src, frame("VESSEL", 1, **dict(VESSEL, sensor_ok=0, ph=0.0, temp=0.0)), 101.0, 1.0)
    db.frame(src, frame("VESSEL", 2, **dict(VESSEL, sensor_ok=0b110)), 102.0, 2.0)  # no pH
    db.frame(src, frame("VESSEL", 3, **VESSEL), 103.0, 3.0)
    db.frame(src, frame("CANISTER", 4, unit=1, pressure=18.2, shell_temp=21.0,
                        ambient_temp=20.0, soc=0.0, soc_valid="INVALID", state="IDLE",
                        valve_open=0, sensor_ok=7, alarms=0, soc_low=0.0, soc_high=100.0,
                        shell_est=21.0, shell2_temp=0.0, flow=0.0, inlet_duty=0,
                        trip_eta=65535, leak=0.0), 103.5, 3.5)
    db.flush()
    assert q(path, "SELECT ph, temp, orp, ph_mode FROM vessel ORDER BY id") == [
        (None, None, None, "AUTO"), (None, 35.02, 612, "AUTO"), (1.712, 35.02, 612, "AUTO")]
    assert q(path, "SELECT pressure, soc FROM canister") == [(18.2, None)]
    # The long view: every reading with its board, unit name and unit.
    assert q(path, "SELECT board, unit, quantity, value, value_unit FROM telemetry WHERE "
                   "frame = 3 AND quantity IN ('ph', 'temp', 'acid_total')") == [
        ("sim", "v0", "ph", 1.712, "pH"), ("sim", "v0", "temp", 35.02, "degC"),
        ("sim", "v0", "acid_total", 1.5, "mL")]
    assert q(path, "SELECT unit, enum FROM columns WHERE tbl = 'vessel' AND col IN "
                   "('temp', 'ph_mode') ORDER BY col") == [(None, "MODE"), ("degC", None)]


def test_an_alarm_is_raised_acknowledged_cleared_and_ended_by_a_reboot(log):
    db, src, path = log
    db.frame(src, event("RAISED", "PH_HIGH"), 110.0, 10.0)
    db.frame(src, event("ACKNOWLEDGED", "PH_HIGH", severity="INFO", value=0, limit=0), 111.0)
    db.frame(src, event("CLEARED", "PH_HIGH", value=2.2), 112.0)
    db.frame(src, event("RAISED", "TEMP_HIGH", value=46.0, limit=45.0), 113.0)
    db.hello(src, dict(HELLO, boot_count=8, reset_cause="WATCHDOG"), "sim", 114.0)
    db.flush()
    assert q(path, "SELECT code, value, \"limit\", value_unit, raised, acknowledged, cleared, "
                   "end_reason FROM alarms ORDER BY id") == [
        ("PH_HIGH", 2.41, 2.3, "pH", 110.0, 111.0, 112.0, "cleared"),
        ("TEMP_HIGH", 46.0, 45.0, "degC", 113.0, None, 114.0, "reboot")]
    assert q(path, "SELECT boot_count, reset_cause FROM boots") == [(7, "POWER_ON"),
                                                                  (8, "WATCHDOG")]


def test_a_reconnect_to_a_board_that_ran_on_keeps_its_boot(log):
    db, src, path = log
    db.hello(src, dict(HELLO, uptime=500.0), "sim", 200.0)
    db.flush()
    assert q(path, "SELECT count(*) FROM boots") == [(1,)]


def test_parameter_changes_and_their_units(log):
    db, src, path = log
    for seq, raw in ((1, 3500), (2, 3500), (3, 3650)):
        db.frame(src, frame("PARAM_VALUE", seq, unit=0, name="temp_sp", value=raw, index=1,
                            count=19, result="OK"), 100.0 + seq)
    db.flush()
    assert q(path, "SELECT name, old, new, value_unit FROM param_changes") == [
        ("temp_sp", None, 35.0, "degC"), ("temp_sp", 35.0, 36.5, "degC")]
    assert q(path, "SELECT value, value_unit FROM param_value") == [
        (35.0, "degC"), (35.0, "degC"), (36.5, "degC")]


def test_sequence_gaps_are_recorded(log):
    db, src, path = log
    for seq in (10, 11, 15, 16, 3):  # 3 lost, then 242 lost across the wrap
        db.frame(src, frame("LOG", seq, level="INFO", text="x"), 100.0 + seq)
    db.flush()
    assert q(path, "SELECT kind, frames_lost FROM gaps") == [("sequence", 3), ("sequence", 242)]


def test_board_time_of_frames_that_arrived_together(log):
    """A frame's own uptime, else that of the frame before it in the read that carries one,
    else the estimate at arrival, but no later than the first own uptime after it nor than a
    heartbeat period after the last one."""
    db, src, path = log
    beat = dict(state="RUN", faults=0, overruns=0, cycle_max=0, heap_free=0, rx_errors=0)
    db.arrived(src, [frame("VESSEL", 1, **VESSEL), frame("HEARTBEAT", 2, uptime=12.0, **beat),
                     frame("VESSEL", 3, **VESSEL), event("RAISED", "PH_HIGH", seq=4,
                                                         uptime=12.5),
                     frame("VESSEL", 6, **VESSEL)], 110.0, 14.0)  # read late: 14 s guessed
    db.arrived(src, [frame("VESSEL", 7, **VESSEL)], 111.0, 13.0)
    db.arrived(src, [frame("VESSEL", 8, **VESSEL)], 112.0, 15.0)  # read late again
    db.flush()
    assert q(path, "SELECT seq, board_time FROM vessel ORDER BY id") == [
        (1, 12.0), (3, 12.0), (6, 12.5), (7, 13.0), (8, 13.5)]
    assert q(path, "SELECT board_time FROM heartbeat") == [(12.0,)]
    assert q(path, "SELECT board_time FROM event") == [(12.5,)]
    assert q(path, "SELECT raised_board_time FROM alarms") == [(12.5,)]
    assert q(path, "SELECT frames_lost, detail FROM gaps") == [(1, "seq 6 after 4")]


def test_frames_before_the_hello_wait_for_it(tmp_path):
    db = LogDB(tmp_path / "log.sqlite")
    src = Source("socket://x")
    db.frame(src, frame("VESSEL", 5, **VESSEL), 100.0)
    db.hello(src, HELLO, "sim", 100.1)
    db.close()
    assert q(tmp_path / "log.sqlite", "SELECT boot, seq FROM vessel") == [(1, 5)]
    (frames,) = q(tmp_path / "log.sqlite", "SELECT frames FROM sessions")[0]
    assert frames == 1


def test_the_audit_trail_keeps_the_command_then_its_answer(log):
    db, src, path = log
    key = object()
    db.audit(key, {"host_time": 120.0, "operator": "alice", "os_user": "tech", "origin": "cli",
                   "board": "sim", "unit": "v0", "command": "dose",
                   "arguments": {"pump": "acid", "volume": "5 mL"}, "result": "sent"})
    db.audit(key, {"result": "done", "cmd_id": 42, "done": 121.0})
    db.flush()
    assert q(path, "SELECT operator, command, arguments, result, cmd_id, done FROM audit") == [
        ("alice", "dose", '{"pump": "acid", "volume": "5 mL"}', "done", 42, 121.0)]


def test_a_version_1_log_is_migrated_and_keeps_its_frames(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:  # as pilotedge 0.1 wrote it
        con.executescript("""
            CREATE TABLE boards (name TEXT PRIMARY KEY, board_id TEXT, firmware TEXT,
                schema_hash TEXT, first_seen REAL);
            CREATE TABLE frames (id INTEGER PRIMARY KEY, host_time REAL NOT NULL,
                board TEXT NOT NULL, uptime_s REAL, msg TEXT NOT NULL, unit INTEGER,
                seq INTEGER, fields TEXT NOT NULL);
            INSERT INTO frames VALUES (1, 1.0, 'sim0', 0.0, 'VESSEL', 0, 0, '{}');
            PRAGMA user_version = 1;""")
    LogDB(path).close()
    assert q(path, "PRAGMA user_version") == [(logdb.SCHEMA_VERSION,)]
    assert q(path, "SELECT board, msg FROM frames_v1") == [("sim0", "VESSEL")]
    assert q(path, "SELECT count(*) FROM vessel") == [(0,)]


def test_a_log_of_a_newer_pilotedge_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA user_version = %d" % (logdb.SCHEMA_VERSION + 1))
    with pytest.raises(LogError, match="written by a newer pilotedge"):
        LogDB(path)


def test_a_field_new_in_the_spec_becomes_a_column(tmp_path, monkeypatch):
    path = tmp_path / "log.sqlite"
    LogDB(path).close()
    fields = dict(logdb.s.FIELDS)
    fields[m.MSG_LOG] = fields[m.MSG_LOG] + (("origin", "B", 1, None, None, None),)
    monkeypatch.setattr(logdb.s, "FIELDS", fields)
    LogDB(path).close()
    columns = [r[1] for r in q(path, "PRAGMA table_info(log)")]
    assert columns[-1] == "origin" and "text" in columns


def _raw_cases(msg_id, rng):
    """Raw values of a message: each field at its wire minimum, at its maximum, then random;
    enums also at a number that is no member, sensor_ok and soc_valid in every state."""
    fields = s.FIELDS[msg_id]
    ranges = [framing.RANGES[code] for _f, code, *_ in fields]
    cases = [[lo for lo, _hi in ranges], [hi for _lo, hi in ranges]]
    for _ in range(200):
        values = [rng.randint(lo, hi) for lo, hi in ranges]
        for i, (name, _code, _scale, _unit, enum, _bits) in enumerate(fields):
            if enum is not None:
                values[i] = rng.choice(list(s.ENUMS[enum]) + [200])
            elif name == "sensor_ok":
                values[i] = rng.randint(0, 7)
        cases.append(values)
    return cases


def test_rows_sqlite_converts_are_the_rows_of_their_fields(tmp_path):
    """The logger's hot path (raw values converted by SQLite as it inserts, many rows per
    INSERT) logs what the general path would: engineering values with the readings the
    frame does not vouch for NULL, stored in the same columns."""
    rng = random.Random(17)
    db = LogDB(tmp_path / "log.sqlite")
    LogDB(tmp_path / "fields.sqlite").close()
    src = Source("/dev/ttyUSB0")
    db.hello(src, HELLO, "sim", 100.0)
    converted = [i for table, i in logdb.FRAME_TABLES.items() if logdb._sql_converts(i)]
    assert {m.MESSAGES[i][0] for i in converted} == {"HEARTBEAT", "VESSEL", "CANISTER", "ACK"}
    with sqlite3.connect(tmp_path / "fields.sqlite") as general:
        for msg_id in converted:
            frames = [Frame(msg_id, n & 0xFF, 0, tuple(v))
                      for n, v in enumerate(_raw_cases(msg_id, rng))]
            db.arrived(src, frames, 101.0, 1.0)
            name = m.MESSAGES[msg_id][0]
            cols = [c for c, _t in logdb.frame_columns(name.lower())]
            general.executemany("INSERT INTO %s (boot, host_time, %s) VALUES (1, 101.0, %s)" % (
                name.lower(), ", ".join('"%s"' % c for c in cols), ", ".join("?" * len(cols))),
                [list(boardinfo.valid_readings(name, f.fields()).values()) for f in frames])
    db.close()
    for msg_id in converted:
        table = m.MESSAGES[msg_id][0].lower()
        sql = "SELECT %s FROM %s ORDER BY id" % (", ".join(
            '"%s"' % c for c, _t in logdb.frame_columns(table)), table)
        hot = q(tmp_path / "log.sqlite", sql)
        assert len(hot) > 2 * logdb._ROWS_PER_INSERT  # whole INSERTs and single rows
        assert hot == q(tmp_path / "fields.sqlite", sql), table
    vessel = q(tmp_path / "log.sqlite", "SELECT ph, temp, orp, ph_mode FROM vessel LIMIT 1")
    assert vessel == [(None, None, None, "OFF")]  # every field at its minimum: sensor_ok 0
    assert MESSAGE_IDS["EVENT"] not in converted  # its value has a per-frame unit


def test_a_log_opens_while_another_writer_commits_between_its_reads_and_writes(
        tmp_path, monkeypatch):
    # A restarted logger opens its log while the bridge marks rows published. A deferred
    # transaction that read first could not write after that commit (SQLITE_BUSY at once,
    # the busy timeout does not help): it takes the write lock up front, and the other
    # writer waits instead.
    path = tmp_path / "log.sqlite"
    LogDB(path).close()
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    other.execute("CREATE TABLE bridge_marks (id INTEGER)")  # the other writer's rows
    connect = sqlite3.connect
    refused = []

    def between(sql):
        if sql.startswith("INSERT OR REPLACE INTO columns") and not refused:
            try:
                other.execute("INSERT INTO bridge_marks VALUES (1)")
            except sqlite3.OperationalError as exc:
                refused.append(str(exc))

    def traced(*args, **kwargs):
        con = connect(*args, **kwargs)
        con.set_trace_callback(between)
        return con

    monkeypatch.setattr(logdb.sqlite3, "connect", traced)
    LogDB(path).close()
    assert refused == ["database is locked"]
    other.close()
