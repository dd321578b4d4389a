"""SQLite log of everything boards report, and of who did what to them.

The embedded default store: one file, no server, written by one logger session at a time
per board (several sessions may share a file). Its schema is versioned (PRAGMA
user_version) and migrated forward on open; a file from a newer pilotedge is refused.

Tables (docs/logger.md has every column):

- one table per message a board sends, named after it (`vessel`, `canister`, `heartbeat`,
  `event`, `ack`, `param_value`, `log`, `hello`), columns from the spec, values in
  engineering units, enums by member name. Each row has its `boot`, the host's wall time
  (`host_time`, Unix seconds) and the board's (`board_time`, seconds since its boot). A
  reading its frame does not vouch for (sensor_ok bit clear, SOC invalid) is NULL. New
  fields of a changed spec become new columns when the file is opened.
- `columns`: the unit, enum or bit names of every column above; the view `telemetry`
  lists every reading with its unit, one row per value.
- `sessions` (each run of a logger), `boards`, `boots` (reset cause, firmware, schema hash,
  boot count), `units` (names of each board's units).
- `alarms` (raised, cleared, acknowledged times), `param_changes`, `calibrations`, `audit`
  (every command: operator, host time, board, unit, command, arguments, result),
  `batches`, `gaps` (sequence gaps, unplugged ports, silent links).

Writes go to an open transaction and are committed by flush(): a crash (even SIGKILL)
leaves the file intact with everything up to the last commit (WAL mode; a power cut, up to
the last checkpoint).
"""

import getpass
import json
import os
import socket
import sqlite3
import time
from pathlib import Path

from pilotproto import messages as m
from pilotproto import schema as s

from . import __version__, boardinfo, codec, resources
from .errors import LogError

SCHEMA_VERSION = 3


def default_path():
    """The log when none is named: run/pilotedge.sqlite in the current folder."""
    return resources.output_dir() / "pilotedge.sqlite"

_CORE = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY, started REAL NOT NULL, ended REAL, end_reason TEXT,
    pid INTEGER, hostname TEXT, os_user TEXT, version TEXT, command TEXT,
    frames INTEGER NOT NULL DEFAULT 0);
CREATE TABLE boards (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, board_id TEXT NOT NULL,
    first_seen REAL NOT NULL);
CREATE TABLE boots (
    id INTEGER PRIMARY KEY, board INTEGER NOT NULL REFERENCES boards(id),
    boot_count INTEGER NOT NULL, reset_cause TEXT, firmware TEXT, proto_version INTEGER,
    schema_hash TEXT, port TEXT, session INTEGER REFERENCES sessions(id),
    first_seen REAL NOT NULL, uptime_s REAL);
CREATE TABLE units (
    board INTEGER NOT NULL REFERENCES boards(id), unit INTEGER NOT NULL, name TEXT NOT NULL,
    kind TEXT NOT NULL, PRIMARY KEY (board, unit));
CREATE TABLE columns (
    tbl TEXT NOT NULL, col TEXT NOT NULL, unit TEXT, enum TEXT, bits TEXT,
    PRIMARY KEY (tbl, col));
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY, board INTEGER NOT NULL REFERENCES boards(id),
    boot INTEGER NOT NULL REFERENCES boots(id), unit INTEGER NOT NULL, code TEXT NOT NULL,
    severity TEXT, latched INTEGER NOT NULL DEFAULT 0, value REAL, "limit" REAL,
    value_unit TEXT, raised REAL NOT NULL, raised_board_time REAL, cleared REAL,
    acknowledged REAL, end_reason TEXT);
CREATE TABLE param_changes (
    id INTEGER PRIMARY KEY, boot INTEGER NOT NULL REFERENCES boots(id), unit INTEGER NOT NULL,
    name TEXT NOT NULL, old REAL, new REAL NOT NULL, value_unit TEXT, host_time REAL NOT NULL,
    result TEXT);
CREATE TABLE calibrations (
    id INTEGER PRIMARY KEY, board INTEGER NOT NULL REFERENCES boards(id),
    boot INTEGER REFERENCES boots(id), unit INTEGER NOT NULL, sensor TEXT NOT NULL,
    method TEXT NOT NULL, host_time REAL NOT NULL, points TEXT, fit TEXT, health TEXT,
    expires REAL, operator TEXT, stored_on_board INTEGER NOT NULL DEFAULT 0);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, session INTEGER REFERENCES sessions(id), host_time REAL NOT NULL,
    operator TEXT NOT NULL, os_user TEXT, origin TEXT NOT NULL, board TEXT NOT NULL,
    unit TEXT, command TEXT NOT NULL, arguments TEXT NOT NULL, cmd_id INTEGER,
    result TEXT NOT NULL, reason TEXT, answer TEXT, done REAL);
CREATE TABLE batches (
    id INTEGER PRIMARY KEY, board INTEGER NOT NULL REFERENCES boards(id),
    unit INTEGER NOT NULL, started REAL NOT NULL, ended REAL, operator TEXT,
    stopped_by TEXT);
CREATE TABLE gaps (
    id INTEGER PRIMARY KEY, board INTEGER REFERENCES boards(id), port TEXT NOT NULL,
    kind TEXT NOT NULL, started REAL NOT NULL, ended REAL, frames_lost INTEGER,
    detail TEXT);
CREATE INDEX alarms_open ON alarms (board, cleared);
CREATE INDEX audit_time ON audit (host_time);
"""
# Version 3: the MQTT bridge (pilotedge.bridge) publishes the log's rows from the log itself;
# these tables say how far the broker has acknowledged them, per Sparkplug edge node, and
# the node's birth-death sequence number (bdSeq), so nothing is lost or re-counted across
# a restart of the broker, the network, the logger or the bridge.
_MQTT = """
CREATE TABLE mqtt_nodes (
    id INTEGER PRIMARY KEY, broker TEXT NOT NULL, grp TEXT NOT NULL, node TEXT NOT NULL,
    source TEXT NOT NULL, bd_seq INTEGER NOT NULL DEFAULT 0, UNIQUE (broker, grp, node));
CREATE TABLE mqtt_sent (
    node INTEGER NOT NULL REFERENCES mqtt_nodes(id), tbl TEXT NOT NULL,
    last_id INTEGER NOT NULL, PRIMARY KEY (node, tbl));
"""
# Version 1 (pilotedge 0.1's `pilotedge run`) kept every frame as JSON in `frames`: its
# tables stay, renamed, beside the new ones. A new file gets _CORE (version 2) and the
# upgrades after it.
_UPGRADES = {
    2: "ALTER TABLE boards RENAME TO boards_v1; ALTER TABLE frames RENAME TO frames_v1;\n"
       + _CORE,
    3: _MQTT,
}

# Tables of board messages: name -> message id.
FRAME_TABLES = {v[0].lower(): i for i, v in m.MESSAGES.items()
                if s.DIRECTION[i] in ("board", "both")}
_COMMON = (("id", "INTEGER PRIMARY KEY"), ("boot", "INTEGER NOT NULL REFERENCES boots(id)"),
           ("host_time", "REAL NOT NULL"), ("board_time", "REAL"), ("seq", "INTEGER"))
# Messages whose value has a unit that depends on another field: an extra column holds it.
_VALUE_UNIT = ("EVENT", "PARAM_VALUE")
# Messages that also fill a table of their own (alarms, parameters, calibrations).
_RECORDED = _VALUE_UNIT + ("CAL",)


def _frame_columns(msg_id):
    """[(column, SQL type, unit, enum, bits)] of a message's table, after _COMMON."""
    out = []
    name = m.MESSAGES[msg_id][0]
    for field, code, scale, unit, enum, bits in s.FIELDS[msg_id]:
        if code == "text" or code.endswith("s") or enum:
            sql = "TEXT"
        elif scale != 1 or (name == "PARAM_VALUE" and field == "value"):
            sql = "REAL"
        else:
            sql = "INTEGER"
        out.append((field, sql, unit, enum, bits))
    if name in _VALUE_UNIT:
        out.append(("value_unit", "TEXT", None, None, None))
    return out


def _sql_converts(msg_id):
    """True for a message of numbers alone (telemetry, heartbeat, ack), whose rows SQLite
    makes from the raw wire values as it inserts them (_value_sql); False for a message
    with text, a value whose unit depends on another field or a record of its own, whose rows
    are made in Python (codec.engineering)."""
    name = m.MESSAGES[msg_id][0]
    return name not in _RECORDED and not any(c == "text" or c.endswith("s")
                                               for _f, c, *_ in s.FIELDS[msg_id])


def _value_sql(msg_id, first):
    """SQL expressions of a message's columns (after boot, host_time, board_time, seq) from
    the parameters ?first, ?first+1, ...

    Where SQLite converts (_sql_converts) it does so in C, rather than a Python call per
    value per frame (the logger's hot path): a scaled value is its wire value over the whole
    inverse of its scale, the float nearest the decimal value, as convert.from_raw's
    rounding gives; an enum by member name (its number when it has none); a reading the
    frame does not vouch for NULL (boardinfo.SENSOR_BITS, INVALID_WHEN).
    """
    columns = _frame_columns(msg_id)
    params = ["?%d" % (first + i) for i in range(len(columns))]
    if not _sql_converts(msg_id):
        return params
    name = m.MESSAGES[msg_id][0]
    at = dict(zip([c[0] for c in columns], params, strict=True))
    out = []
    for field, _code, scale, _unit, enum, _bits in s.FIELDS[msg_id]:
        v = at[field]
        if scale != 1:
            v = "%s / %d.0" % (v, round(1 / scale))
        elif enum is not None:
            v = "CASE %s %s ELSE %s END" % (v, " ".join(
                "WHEN %d THEN '%s'" % member for member in s.ENUMS[enum].items()), v)
        bit = boardinfo.SENSOR_BITS.get(name, {}).get(field)
        if bit is not None:
            v = "CASE WHEN %s & %d THEN %s END" % (at["sensor_ok"], 1 << bit, v)
        flag, bad = boardinfo.INVALID_WHEN.get(name, {}).get(field, (None, None))
        if flag is not None:
            enum_of_flag = next(f[4] for f in s.FIELDS[msg_id] if f[0] == flag)
            raw_bad = {n: k for k, n in s.ENUMS[enum_of_flag].items()}[bad]
            v = "CASE WHEN %s != %d THEN %s END" % (at[flag], raw_bad, v)
        out.append(v)
    return out


def _insert_sql(msg_id, rows=1):
    """The INSERT of `rows` rows of a message's table from a flat list of parameters: per
    row boot, host_time, board_time, seq, then its values (raw where SQLite converts)."""
    cols = [n for n, _t in _COMMON[1:]] + [c for c, *_ in _frame_columns(msg_id)]
    width = len(cols)
    values = ["(?%d, ?%d, ?%d, ?%d, %s)" % (*range(first, first + 4), ", ".join(
        _value_sql(msg_id, first + 4))) for first in range(1, rows * width, width)]
    return "INSERT INTO %s (%s) VALUES %s" % (
        _TABLE_OF[msg_id], ", ".join(_q(c) for c in cols), ", ".join(values))


def frame_columns(table):
    """[(column, SQL type)] of the spec's columns of a message table (after id, boot,
    host_time, board_time, seq)."""
    return [(c, sql) for c, sql, *_ in _frame_columns(FRAME_TABLES[table])]


# The historian (pilotedge.historian) builds the same message tables and telemetry view in
# PostgreSQL from these: a message's columns by message id, and the view's SQL.
message_columns = _frame_columns


def _q(name):
    return '"%s"' % name


def _telemetry_view():
    """The long view of every unit's readings: board, unit, times, quantity, value, unit."""
    parts = []
    for kind, _section, _at in m.UNIT_KINDS:
        msg = boardinfo.telemetry_message(kind)
        table = msg.lower()
        for field, _sql, unit, _enum, _bits in _frame_columns(codec.message_id(msg)):
            if unit is None:
                continue
            parts.append(
                "SELECT t.id AS frame, bo.name AS board, u.name AS unit, t.host_time, "
                "t.board_time, '%s' AS quantity, t.%s AS value, '%s' AS value_unit "
                "FROM %s t JOIN boots b ON b.id = t.boot JOIN boards bo ON bo.id = b.board "
                "LEFT JOIN units u ON u.board = b.board AND u.unit = t.unit"
                % (field, _q(field), unit, table))
    return "CREATE VIEW telemetry AS\n" + "\nUNION ALL\n".join(parts)


_TABLE_OF = {i: table for table, i in FRAME_TABLES.items()}
telemetry_view_sql = _telemetry_view

# Rows one INSERT takes at once: binding them together and SQLite's own loop over them cost
# about a third less per row than executemany's row at a time (docs/logger.md).
_ROWS_PER_INSERT = 32
# Where a message carries the board's uptime: its position and the wire value of 1 s.
_UPTIME_AT = {i: (n, round(1 / f[2])) for i in FRAME_TABLES.values()
              for n, f in enumerate(s.FIELDS[i]) if f[0] == "uptime"}


def _first_uptime(frames):
    """The board's uptime (s) in the first of frames that carries one, or None."""
    for msg_id, _seq, _flags, values in frames:
        uptime = _UPTIME_AT.get(msg_id)
        if uptime is not None:
            return values[uptime[0]] / uptime[1]
    return None


class Source:
    """What the log knows about one port: its board and boot, for the frames that follow."""

    def __init__(self, port):
        self.port = port
        self.board = None  # boards.id
        self.name = None
        self.boot = None  # boots.id
        self.boot_count = None
        self.units = []
        self.seq = None  # last sequence number seen
        self.uptime = None  # the board's uptime (s) the last frame that carries one said
        self.pending = []  # frames that came before the board's HELLO was logged
        self.gap = None  # gaps.id of the gap open on this port


class LogDB:
    """The log file at `path`; LogError when it cannot be one.

    must_exist_folder: refuse a path whose folder is missing (a path a person typed)
    instead of creating it (a default path). command: what this session runs, for
    `sessions`. Not thread-safe: one thread writes (pilotedge.logger runs one for it).
    """

    def __init__(self, path, create_folder=True, command=None, clock=time.time):
        self.path = Path(path)
        self._clock = clock
        self.check_path(self.path, create_folder)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False,
                                       isolation_level=None, timeout=10.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Synced at WAL checkpoints, not at every commit: a killed logger loses nothing
            # committed, a power cut at most the commits since the last checkpoint.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            self._spec_tables()
        except (OSError, sqlite3.Error, ValueError) as exc:
            raise LogError("cannot use %s as a pilotedge log: %s" % (self.path, exc)) from None
        # message id -> its rows for the next flush, one flat list of their parameters
        self._rows = {i: [] for i in _TABLE_OF}
        # message id -> (INSERT of one row, of _ROWS_PER_INSERT rows, parameters per row)
        self._inserts = {i: (_insert_sql(i), _insert_sql(i, _ROWS_PER_INSERT),
                             4 + len(_frame_columns(i))) for i in _TABLE_OF}
        # message id -> (its rows, where it carries the board's uptime, SQLite converts it)
        self._plans = {i: (self._rows[i], _UPTIME_AT.get(i), _sql_converts(i))
                       for i in _TABLE_OF}
        self._last_commit = clock()
        self.frames = 0  # frames logged by this session
        self.committed = 0  # of which committed
        self._alarms = {}  # (board id, unit, code) -> alarms.id of the open alarm
        self._params = {}  # (board id, unit, name) -> value last seen
        self._audit_keys = {}
        self._gaps = {}
        self._open_alarms()
        self._close_unclosed()
        self.session = self._insert(
            "sessions", started=clock(), pid=os.getpid(), hostname=socket.gethostname(),
            os_user=_os_user(), version=__version__, command=command)
        self.flush()

    @staticmethod
    def check_path(path, create_folder=False):
        """LogError unless a log can be written at path: its folder must exist (or be
        created, with create_folder) and be writable, the path must not be a folder."""
        path = Path(path)
        folder = path.parent
        if not folder.is_dir():
            if not create_folder or folder.exists():
                raise LogError("cannot use %s as a pilotedge log: folder %s does not exist"
                               % (path, folder))
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                raise LogError("cannot create the folder of the log %s: %s"
                               % (path, exc.strerror or exc)) from None
        if path.is_dir():
            raise LogError("cannot use %s as a pilotedge log: it is a folder" % path)
        if not os.access(path if path.exists() else folder, os.W_OK):
            raise LogError("cannot use %s as a pilotedge log: %s is not writable"
                           % (path, path if path.exists() else folder))

    # -- schema ------------------------------------------------------------------------------

    def _migrate(self):
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ValueError("it was written by a newer pilotedge (log schema %d; this one "
                             "knows up to %d)" % (version, SCHEMA_VERSION))
        if version == SCHEMA_VERSION:
            return
        tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version == 0 and tables:
            raise ValueError("it is an SQLite file of something else")
        steps = [_CORE] if version == 0 else []
        done = 2 if version == 0 else version
        steps += [_UPGRADES[v] for v in range(done + 1, SCHEMA_VERSION + 1)]
        self._db.executescript("BEGIN IMMEDIATE;\n%s\nPRAGMA user_version=%d;\nCOMMIT;"
                               % ("\n".join(steps), SCHEMA_VERSION))

    def _spec_tables(self):
        """Create the message tables, add columns new in the spec, describe every column."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # see _begin
        for table, msg_id in FRAME_TABLES.items():
            columns = _frame_columns(msg_id)
            have = [r[1] for r in db.execute("PRAGMA table_info(%s)" % table)]
            if not have:
                cols = ["%s %s" % (n, t) for n, t in _COMMON]
                cols += ["%s %s" % (_q(c), t) for c, t, *_ in columns]
                db.execute("CREATE TABLE %s (%s)" % (table, ", ".join(cols)))
                db.execute("CREATE INDEX %s_boot ON %s (boot, host_time)" % (table, table))
            for c, t, *_ in columns:
                if c not in have and have:
                    db.execute("ALTER TABLE %s ADD COLUMN %s %s" % (table, _q(c), t))
            db.executemany("INSERT OR REPLACE INTO columns VALUES (?, ?, ?, ?, ?)",
                           [(table, c, unit, enum, bits) for c, _t, unit, enum, bits in columns])
        db.execute("DROP VIEW IF EXISTS telemetry")
        db.execute(_telemetry_view())
        db.execute("COMMIT")

    # -- writing -----------------------------------------------------------------------------

    def _begin(self):
        # The write lock up front: a transaction that read first cannot write once another
        # connection (a bridge marking rows published) has committed since; SQLite answers
        # BUSY at once, without the busy timeout.
        if not self._db.in_transaction:
            self._db.execute("BEGIN IMMEDIATE")

    def _insert(self, table, **values):
        self._begin()
        cols = ", ".join(_q(c) for c in values)
        marks = ", ".join("?" * len(values))
        return self._db.execute("INSERT INTO %s (%s) VALUES (%s)" % (table, cols, marks),
                                tuple(values.values())).lastrowid

    def _update(self, table, row_id, **values):
        self._begin()
        sets = ", ".join("%s = ?" % _q(c) for c in values)
        self._db.execute("UPDATE %s SET %s WHERE id = ?" % (table, sets),
                         (*values.values(), row_id))

    def flush(self):
        """Commit everything written so far."""
        self._begin()
        for msg_id, rows in self._rows.items():
            if rows:
                one, many, width = self._inserts[msg_id]
                step = width * _ROWS_PER_INSERT
                whole = len(rows) - len(rows) % step
                for i in range(0, whole, step):
                    self._db.execute(many, rows[i:i + step])
                self._db.executemany(one, [rows[i:i + width]
                                           for i in range(whole, len(rows), width)])
                rows.clear()
        self._db.execute("UPDATE sessions SET frames = ? WHERE id = ?",
                         (self.frames, self.session))
        self._db.execute("COMMIT")
        self.committed = self.frames
        self._last_commit = self._clock()

    def flush_due(self, every_s):
        """True when the last commit is older than every_s."""
        return self._clock() - self._last_commit >= every_s

    def close(self, reason="stopped"):
        self._update("sessions", self.session, ended=self._clock(), end_reason=reason)
        self.flush()
        self._db.close()

    # -- what boards say ---------------------------------------------------------------------

    def hello(self, src, fields, name, host_time):
        """A board's HELLO on src's port: its board, boot and unit rows (a new boot when its
        boot count changed). `name` is what the logger calls the board."""
        f = fields
        if src.name != name:
            src.board = self._board(name, f["board_id"], host_time)
            src.name = name
            src.boot_count = None
        src.units = boardinfo.units_of(f)
        if f["boot_count"] != src.boot_count or src.boot is None:
            src.boot = self._boot(src, f, host_time)
            src.boot_count = f["boot_count"]
        src.seq = src.uptime = None
        self._begin()
        self._db.executemany("INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?)",
                             [(src.board, u.number, u.name, u.kind) for u in src.units])
        pending, src.pending = src.pending, []
        for args in pending:
            self.arrived(src, *args)

    def _board(self, name, board_id, host_time):
        row = self._db.execute("SELECT id FROM boards WHERE name = ?", (name,)).fetchone()
        if row:
            return row[0]
        return self._insert("boards", name=name, board_id=board_id, first_seen=host_time)

    def _boot(self, src, f, host_time):
        """The boots row of this HELLO: the latest of the board if it has the same boot count
        (a reconnect to a board that kept running), else a new one."""
        row = self._db.execute(
            "SELECT id, boot_count FROM boots WHERE board = ? ORDER BY id DESC LIMIT 1",
            (src.board,)).fetchone()
        if row and row[1] == f["boot_count"]:
            return row[0]
        self._end_alarms(src.board, host_time)
        return self._insert(
            "boots", board=src.board, boot_count=f["boot_count"],
            reset_cause=f["reset_cause"], firmware="%d.%d.%d" % (
                f["fw_major"], f["fw_minor"], f["fw_patch"]),
            proto_version=f["proto_version"], schema_hash="%08X" % f["schema_hash"],
            port=src.port, session=self.session, first_seen=host_time, uptime_s=f["uptime"])

    def frame(self, src, frame, host_time, board_time=None):
        """Log one decoded frame from src's port (held back until the board's HELLO is)."""
        self.arrived(src, [frame], host_time, board_time)

    def arrived(self, src, frames, host_time, board_time=None):
        """Log decoded frames that arrived together from src's port, in order (held back
        until the board's HELLO is).

        board_time: the board's uptime when they arrived, as its heartbeats let the host
        estimate it. A frame that carries its own uptime (heartbeat, event, hello) is logged
        at that, and so are the frames after it. The frames before it were sent before it,
        and before the heartbeat after the last one seen: they are logged at no later than
        either (a host that read late must not place them after those).
        """
        if src.boot is None:
            src.pending.append((frames, host_time, board_time))
            return
        if not frames:
            return
        if board_time is not None:
            for limit in (_first_uptime(frames),
                          None if src.uptime is None else src.uptime + m.HEARTBEAT_MS / 1000):
                if limit is not None and limit < board_time:
                    board_time = limit
        boot = src.boot
        last = frames[0].seq - 1 if src.seq is None else src.seq
        plans = self._plans
        skipped = 0
        for frame in frames:
            msg_id, seq, _flags, values = frame
            lost = (seq - last - 1) & 0xFF
            if lost and msg_id != m.MSG_HELLO:  # a HELLO starts a new sequence
                self._insert("gaps", board=src.board, port=src.port, kind="sequence",
                             started=host_time, ended=host_time, frames_lost=lost,
                             detail="seq %d after %d" % (seq, last))
            last = seq
            plan = plans.get(msg_id)
            if plan is None:
                skipped += 1  # a message boards do not send (a host's, echoed)
                continue
            rows, uptime, converted = plan
            if uptime is not None:
                board_time = src.uptime = values[uptime[0]] / uptime[1]
            rows += (boot, host_time, board_time, seq)
            rows += values if converted else self._fields(src, frame, host_time, board_time)
        src.seq = last
        self.frames += len(frames) - skipped

    def _fields(self, src, frame, host_time, board_time):
        """The column values of a frame SQLite does not convert; an event, a parameter
        value or a calibration record is also an alarm, a parameter change or a calibration."""
        name = frame.name
        fields = boardinfo.valid_readings(name, codec.engineering(frame))
        if name == "EVENT":
            fields["value_unit"] = boardinfo.EVENT_UNITS.get(fields["code"])
            self._event(src, fields, host_time, board_time)
        elif name == "PARAM_VALUE":
            param = codec.PARAMS.get(fields["name"])
            fields["value_unit"] = param[2] if param else None
            self._param(src, fields, host_time)
        elif name == "CAL":
            self._calibration(src, fields, host_time)
        return fields.values()

    def _event(self, src, f, host_time, board_time):
        key = (src.board, f["unit"], f["code"])
        kind = f["kind"]
        if kind in ("RAISED", "LATCHED"):
            if key in self._alarms:
                if kind == "LATCHED":
                    self._update("alarms", self._alarms[key], latched=1)
                return
            self._alarms[key] = self._insert(
                "alarms", board=src.board, boot=src.boot, unit=f["unit"], code=f["code"],
                severity=f["severity"], latched=int(kind == "LATCHED"), value=f["value"],
                limit=f["limit"], value_unit=f["value_unit"], raised=host_time,
                raised_board_time=board_time)
        elif kind == "CLEARED" and key in self._alarms:
            self._update("alarms", self._alarms.pop(key), cleared=host_time,
                         end_reason="cleared")
        elif kind == "ACKNOWLEDGED":
            row = self._db.execute(
                "SELECT id FROM alarms WHERE board = ? AND unit = ? AND code = ? AND "
                "acknowledged IS NULL ORDER BY id DESC LIMIT 1", key).fetchone()
            if row:
                self._update("alarms", row[0], acknowledged=host_time)

    def _open_alarms(self):
        for row_id, board, unit, code in self._db.execute(
                "SELECT id, board, unit, code FROM alarms WHERE cleared IS NULL "
                "AND end_reason IS NULL"):
            self._alarms[(board, unit, code)] = row_id

    def _close_unclosed(self):
        """Sessions of this host whose logger died without closing them (SIGKILL, a crash,
        a power cut) say so; what they committed stays."""
        host = socket.gethostname()
        for row_id, pid in self._db.execute(
                "SELECT id, pid FROM sessions WHERE ended IS NULL AND end_reason IS NULL AND "
                "hostname = ?", (host,)).fetchall():
            if not alive(pid):
                self._update("sessions", row_id, end_reason="not closed: the logger was "
                                                            "killed or crashed")

    def _end_alarms(self, board, host_time):
        """A reboot ends the board's open alarms: it reports again what is still active."""
        for key in [k for k in self._alarms if k[0] == board]:
            self._update("alarms", self._alarms.pop(key), cleared=host_time,
                         end_reason="reboot")

    def _calibration(self, src, f, host_time):
        """A board's calibration record (a CAL message) in `calibrations`, once: the same
        record told again (CAL_READ) adds nothing."""
        if not f["points"]:
            return
        kind = f["kind"]
        points = [[f["ref%d" % i], f["read%d" % i], f["temp%d" % i]]
                  for i in range(1, f["points"] + 1)]
        names = {"PH": ("slope", "offset", "alk_slope", "alk_offset", "break_ph"),
                 "ORP": ("offset",)}.get(kind, ("rate",))
        fit = json.dumps({n: f[n] for n in names})
        method = ("timed run" if kind in ("ACID", "BASE")
                  else "%d-point" % f["points"])
        stored = f["wall_time"] or None
        expires = stored + f["life"] * 3600 if stored and f["life"] else None
        row = self._db.execute(
            "SELECT id FROM calibrations WHERE board = ? AND unit = ? AND sensor = ? AND "
            "fit = ? AND points = ?", (src.board, f["unit"], kind.lower(), fit,
                                       json.dumps(points))).fetchone()
        if row is None:
            self._insert("calibrations", board=src.board, boot=src.boot, unit=f["unit"],
                         sensor=kind.lower(), method=method, host_time=stored or host_time,
                         points=json.dumps(points), fit=fit, health=f["health"],
                         expires=expires, stored_on_board=1)

    def calibration_operator(self, src, unit, sensor, operator):
        """Name who took a unit's newest calibration of a sensor (its CAL message came in
        before the ACK that ended it)."""
        self._db.execute(
            "UPDATE calibrations SET operator = ? WHERE id = (SELECT max(id) FROM calibrations "
            "WHERE board = ? AND unit = ? AND sensor = ?) AND operator IS NULL",
            (operator, src.board, unit, sensor))

    def _param(self, src, f, host_time):
        if f["result"] == "UNKNOWN":
            return
        key = (src.board, f["unit"], f["name"])
        if key not in self._params:
            row = self._db.execute(
                "SELECT new FROM param_changes JOIN boots ON boots.id = param_changes.boot "
                "WHERE boots.board = ? AND unit = ? AND name = ? ORDER BY param_changes.id "
                "DESC LIMIT 1", key).fetchone()
            self._params[key] = row[0] if row else None
        old = self._params[key]
        if old != f["value"]:
            self._params[key] = f["value"]
            self._insert("param_changes", boot=src.boot, unit=f["unit"], name=f["name"],
                         old=old, new=f["value"], value_unit=f["value_unit"],
                         host_time=host_time, result=f["result"])

    # -- what the logger sees ----------------------------------------------------------------

    def gap_start(self, src, kind, host_time, detail):
        """A port went quiet (kind "unplugged": the port failed; "silent": heartbeats
        stopped); ended by gap_end."""
        if src.gap is None:
            src.gap = self._insert("gaps", board=src.board, port=src.port, kind=kind,
                                   started=host_time, detail=detail)

    def gap_end(self, src, host_time):
        if src.gap is not None:
            self._update("gaps", src.gap, ended=host_time)
            src.gap = None

    def audit(self, key, row):
        """Record a command: row has operator, os_user, origin, board, unit, command,
        arguments, host_time, result...; audit(key, row) again with the same key updates
        that record (its final result)."""
        row = {k: json.dumps(v) if k == "arguments" else v for k, v in row.items()}
        if key in self._audit_keys:
            self._update("audit", self._audit_keys[key], **row)
        else:
            self._audit_keys[key] = self._insert("audit", session=self.session, **row)

    def batch(self, src, unit, start, host_time, operator):
        """Start a batch on a unit (ending one still open), or stop it."""
        row = self._db.execute("SELECT id FROM batches WHERE board = ? AND unit = ? AND "
                               "ended IS NULL", (src.board, unit)).fetchone()
        if row:
            self._update("batches", row[0], ended=host_time, stopped_by=operator)
        if start:
            self._insert("batches", board=src.board, unit=unit, started=host_time,
                         operator=operator)


def alive(pid):
    """True if a process `pid` runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _os_user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
