"""Queries on a pilotedge log: what export, plot, report and the live dashboard read.

Everything here works on a DB-API connection and a Dialect, so a historian on another
database (PostgreSQL) with the same tables reuses the same queries: the SQL is written for
both (no SQLite functions, `?` placeholders that the dialect turns into its own style).
What is SQLite's alone - opening a file read-only and checking its schema version - is
open_sqlite().

Time. Rows carry the host's wall time (`host_time`) and the board's (`board_time`, seconds
since its boot). Reports and plots measure durations in *process time*: the board's own
clock, anchored at the wall time its boot was first seen. For a board on a cable that is the
wall clock; for a bench board at 60x it is the simulated clock, so a 48 h batch run in 48
minutes reports 48 h of heating and dosing, not 48 minutes (Timeline).
"""

import bisect
import datetime
import sqlite3
from pathlib import Path
from typing import NamedTuple

from pilotproto import messages as m

from . import boardinfo, logdb
from .errors import LogError, UsageError


class Dialect(NamedTuple):
    """How one database spells what differs: its placeholder."""

    name: str
    placeholder: str

    def sql(self, text):
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


SQLITE = Dialect("sqlite", "?")
POSTGRESQL = Dialect("postgresql", "%s")

# The telemetry tables, one per unit kind (vessel, canister).
KIND_TABLES = {kind: boardinfo.telemetry_message(kind).lower() for kind, _s, _a in m.UNIT_KINDS}


def open_log(db):
    """A Log of a logger's SQLite file, or of a site historian's PostgreSQL database given
    as a postgresql:// URL (the same tables and views: pilotedge.historian)."""
    if str(db).startswith(("postgresql://", "postgres://")):
        return open_postgresql(str(db))
    return open_sqlite(db)


def open_postgresql(url):
    """A Log of a historian's PostgreSQL database; LogError (one line) when it cannot be
    reached."""
    import psycopg  # only for a historian: a logger PC reads SQLite

    try:
        conn = psycopg.connect(url, connect_timeout=10)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LogError("cannot open the historian %s: %s" % (_without_password(url), reason))
    return Log(conn, POSTGRESQL, _without_password(url))


def _without_password(url):
    head, at, tail = url.partition("@")
    if not at or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user = head.partition("//")
    return "%s//%s:***@%s" % (scheme, user.split(":", 1)[0], tail)


def open_sqlite(path):
    """A Log of the SQLite file at path, read-only; LogError (one line) when it is not a
    pilotedge log this version reads."""
    path = Path(path)
    if not path.is_file():
        raise LogError("no log %s: give the .sqlite file pilotedge log or run wrote" % path)
    try:
        conn = sqlite3.connect("file:%s?mode=ro" % path.absolute(), uri=True, timeout=10.0)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise LogError("cannot read %s as a pilotedge log: %s" % (path, exc)) from None
    if version != logdb.SCHEMA_VERSION:
        conn.close()
        raise LogError("cannot read %s: log schema %d, this pilotedge reads %d%s" % (
            path, version, logdb.SCHEMA_VERSION,
            " (open it once with pilotedge log to upgrade it)" if version < logdb.SCHEMA_VERSION
            else ""))
    return Log(conn, SQLITE, str(path))


def parse_time(text, what):
    """Unix seconds from "2026-11-01", "2026-11-01 14:30", an ISO time with a zone, or Unix
    seconds; a time without a zone is local. UsageError for anything else."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError("%s %r: give a date and time such as 2026-11-01T14:30 (local time) "
                         "or Unix seconds" % (what, text)) from None
    return when.timestamp()


def local(t):
    """Unix seconds as local time to the second ("2026-11-01 14:30:05"), '' for None."""
    if t is None:
        return ""
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def zone():
    """The local time zone, as reports name it: "UTC+01:00"."""
    offset = datetime.datetime.now().astimezone().strftime("%z")
    return "UTC%s:%s" % (offset[:3], offset[3:])


class Log:
    """A log on an open DB-API connection. name: what to call it in messages and titles."""

    def __init__(self, conn, dialect=SQLITE, name="log"):
        self.conn = conn
        self.dialect = dialect
        self.name = name

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def query(self, sql, args=()):
        """A cursor over the rows of sql (with ? placeholders)."""
        cur = self.conn.cursor()
        cur.execute(self.dialect.sql(sql), tuple(args))
        return cur

    def all(self, sql, args=()):
        return self.query(sql, args).fetchall()

    # -- what is in the log --------------------------------------------------------------

    def boards(self):
        """[(boards.id, name, board_id)] by name."""
        return self.all("SELECT id, name, board_id FROM boards ORDER BY name")

    def units(self, board=None):
        """[(board name, unit number, unit name, kind)] of the units of every board (or one),
        the board itself left out."""
        sql = ("SELECT bo.name, u.unit, u.name, u.kind FROM units u "
               "JOIN boards bo ON bo.id = u.board WHERE u.kind <> 'board'")
        args = ()
        if board is not None:
            sql += " AND bo.name = ?"
            args = (board,)
        return self.all(sql + " ORDER BY bo.name, u.unit", args)

    def columns(self, table):
        """[(column, unit, enum)] of a message table, in table order."""
        described = {c: (u, e) for c, u, e in self.all(
            "SELECT col, unit, enum FROM columns WHERE tbl = ?", (table,))}
        return [(c, *described[c]) for c, _sql in logdb.frame_columns(table)]

    def check_board(self, board):
        """UsageError unless the log has a board of this name."""
        names = [name for _id, name, _bid in self.boards()]
        if board is not None and board not in names:
            raise UsageError("the log %s has no board %r (boards: %s)"
                             % (self.name, board, ", ".join(names) or "none"))

    # -- rows ----------------------------------------------------------------------------

    def frames(self, table, board=None, start=None, end=None, fields=None):
        """A cursor over the rows of a message table with their board and unit names:
        (board, unit, boot, host_time, board_time, seq, fields...) in arrival order;
        `fields` picks columns (default: all of the spec's), start/end bound host_time."""
        spec = [c for c, _sql in logdb.frame_columns(table)]
        names = fields or spec
        unit_join = ("LEFT JOIN units u ON u.board = b.board AND u.unit = t.unit"
                     if "unit" in spec else
                     "LEFT JOIN units u ON 1 = 0")
        sql = ("SELECT bo.name, u.name, t.boot, t.host_time, t.board_time, t.seq%s "
               "FROM %s t JOIN boots b ON b.id = t.boot JOIN boards bo ON bo.id = b.board %s"
               % ("".join(", t.%s" % _q(f) for f in names), table, unit_join))
        where, args = _bounds("t.host_time", board, start, end)
        return self.query(sql + where + " ORDER BY t.id", args)

    def alarms(self, board=None, start=None, end=None):
        """Alarms overlapping [start, end]: dicts with board, unit (name), code, severity,
        latched, value, limit, value_unit, raised, raised_board_time, boot, acknowledged,
        cleared, end_reason; in the order raised."""
        sql = ("SELECT bo.name, COALESCE(u.name, CAST(a.unit AS TEXT)), a.code, a.severity, "
               "a.latched, a.value, a.\"limit\", a.value_unit, a.raised, a.raised_board_time, "
               "a.boot, a.acknowledged, a.cleared, a.end_reason FROM alarms a "
               "JOIN boards bo ON bo.id = a.board "
               "LEFT JOIN units u ON u.board = a.board AND u.unit = a.unit")
        conds, args = [], []
        if start is not None:
            conds.append("(a.cleared IS NULL OR a.cleared >= ?)")
            args.append(start)
        where, args = _bounds("a.raised", board, None, end, conds, args)
        keys = ("board", "unit", "code", "severity", "latched", "value", "limit",
                "value_unit", "raised", "raised_board_time", "boot", "acknowledged",
                "cleared", "end_reason")
        return [dict(zip(keys, row, strict=True))
                for row in self.all(sql + where + " ORDER BY a.raised, a.id", args)]

    def open_alarms(self, board=None):
        """The alarms still raised (not cleared, not ended by a reboot)."""
        return [a for a in self.alarms(board) if a["cleared"] is None and not a["end_reason"]]

    def param_history(self, name, board=None):
        """[(board, unit name, host_time, value)] of a parameter's values as boards reported
        them (a set, a read), in time order."""
        sql = ("SELECT bo.name, COALESCE(u.name, CAST(p.unit AS TEXT)), p.host_time, p.new "
               "FROM param_changes p JOIN boots b ON b.id = p.boot "
               "JOIN boards bo ON bo.id = b.board "
               "LEFT JOIN units u ON u.board = b.board AND u.unit = p.unit WHERE p.name = ?")
        args = [name]
        if board is not None:
            sql += " AND bo.name = ?"
            args.append(board)
        return self.all(sql + " ORDER BY p.host_time, p.id", args)

    def batches(self, board=None):
        """Batches: dicts with id, board, unit, started, ended, operator, stopped_by."""
        sql = ("SELECT ba.id, bo.name, COALESCE(u.name, CAST(ba.unit AS TEXT)), ba.started, "
               "ba.ended, ba.operator, ba.stopped_by FROM batches ba "
               "JOIN boards bo ON bo.id = ba.board "
               "LEFT JOIN units u ON u.board = ba.board AND u.unit = ba.unit")
        args = ()
        if board is not None:
            sql += " WHERE bo.name = ?"
            args = (board,)
        keys = ("id", "board", "unit", "started", "ended", "operator", "stopped_by")
        return [dict(zip(keys, row, strict=True))
                for row in self.all(sql + " ORDER BY ba.id", args)]

    def calibrations(self, board=None, at=None):
        """Calibration records (newest first): dicts with board, unit, sensor, method,
        host_time, health, expires, operator, stored_on_board; `at`: those made by then."""
        sql = ("SELECT bo.name, COALESCE(u.name, CAST(c.unit AS TEXT)), c.sensor, c.method, "
               "c.host_time, c.health, c.expires, c.operator, c.stored_on_board "
               "FROM calibrations c JOIN boards bo ON bo.id = c.board "
               "LEFT JOIN units u ON u.board = c.board AND u.unit = c.unit")
        where, args = _bounds("c.host_time", board, None, at)
        keys = ("board", "unit", "sensor", "method", "host_time", "health", "expires",
                "operator", "stored_on_board")
        return [dict(zip(keys, row, strict=True))
                for row in self.all(sql + where + " ORDER BY c.host_time DESC", args)]

    def audit(self, board=None, start=None, end=None):
        """Commands that ended after start and began before end: (host_time, operator,
        origin, board, unit, command, arguments, result, reason) in time order."""
        sql = ("SELECT a.host_time, a.operator, a.origin, a.board, a.unit, a.command, "
               "a.arguments, a.result, a.reason FROM audit a")
        conds, args = (["a.board = ?"], [board]) if board is not None else ([], [])
        if start is not None:  # a command that ended in the span (a batch start) is in it
            conds.append("COALESCE(a.done, a.host_time) >= ?")
            args.append(start)
        where, args = _bounds("a.host_time", None, None, end, conds, args)
        return self.all(sql + where + " ORDER BY a.host_time, a.id", args)

    def gaps(self, board=None, start=None, end=None):
        """Link gaps: (board name or None, port, kind, started, ended, frames_lost)."""
        sql = ("SELECT bo.name, g.port, g.kind, g.started, g.ended, g.frames_lost FROM gaps g "
               "LEFT JOIN boards bo ON bo.id = g.board")
        where, args = _bounds("g.started", board, start, end)
        return self.all(sql + where + " ORDER BY g.started", args)

    def span(self, board=None):
        """(first, last) host_time of the board heartbeats in the log, (None, None) if none."""
        sql = ("SELECT MIN(t.host_time), MAX(t.host_time) FROM heartbeat t "
               "JOIN boots b ON b.id = t.boot JOIN boards bo ON bo.id = b.board")
        where, args = _bounds("t.host_time", board, None, None)
        return tuple(self.all(sql + where, args)[0])

    def board_file(self, board):
        """The board file of a board of the log (by its HELLO id), or None."""
        row = self.all("SELECT board_id FROM boards WHERE name = ?", (board,))
        return boardinfo.board_file(row[0][0]) if row else None

    def timeline(self, board):
        """The process clock of a board (Timeline)."""
        boots = self.all(
            "SELECT b.id, b.first_seen, b.uptime_s FROM boots b JOIN boards bo "
            "ON bo.id = b.board WHERE bo.name = ? ORDER BY b.id", (board,))
        beats = self.all(
            "SELECT t.boot, t.host_time, t.board_time FROM heartbeat t JOIN boots b "
            "ON b.id = t.boot JOIN boards bo ON bo.id = b.board WHERE bo.name = ? "
            "ORDER BY t.id", (board,))
        return Timeline(boots, beats)


def _q(name):
    return '"%s"' % name


def _bounds(time_col, board, start, end, conds=None, args=None):
    """A WHERE clause (and its arguments) on the board's name and a time column, after
    conds and their args."""
    conds, args = list(conds or []), list(args or [])
    if board is not None:
        conds.append("bo.name = ?")
        args.append(board)
    if start is not None:
        conds.append("%s >= ?" % time_col)
        args.append(start)
    if end is not None:
        conds.append("%s <= ?" % time_col)
        args.append(end)
    return (" WHERE " + " AND ".join(conds) if conds else ""), args


class Timeline:
    """A board's process clock: boot k's board time t is at anchor_k + t (Unix seconds).

    anchor_k is the wall time the boot was first seen less its uptime then, and never before
    the end of the previous boot, so the clock never runs backwards (a bench board's
    simulated time runs ahead of the wall). Wall times of events that carry no board time
    (an alarm cleared, a command) are placed by the heartbeats around them.
    """

    def __init__(self, boots, heartbeats):
        self._beats = {}  # boot -> ([host_time], [board_time])
        for boot, host_time, board_time in heartbeats:
            if board_time is not None:
                hosts, boards = self._beats.setdefault(boot, ([], []))
                hosts.append(host_time)
                boards.append(board_time)
        self.anchor = {}
        self._starts = []  # (first seen host time, boot) in order
        end = None
        for boot, first_seen, uptime_s in boots:
            anchor = first_seen - (uptime_s or 0.0)
            if end is not None:
                anchor = max(anchor, end)
            self.anchor[boot] = anchor
            beats = self._beats.get(boot)
            last = beats[1][-1] if beats else (uptime_s or 0.0)
            end = anchor + last
            self._starts.append((first_seen, boot))

    def at(self, boot, board_time):
        """Process time of a board time of a boot."""
        return self.anchor[boot] + board_time

    def host(self, host_time, boot=None):
        """Process time of a wall time (of `boot`, else of the boot running then)."""
        if boot is None:
            i = bisect.bisect_right(self._starts, (host_time, float("inf"))) - 1
            if i < 0:
                return host_time
            boot = self._starts[i][1]
        beats = self._beats.get(boot)
        if not beats:
            return host_time
        hosts, boards = beats
        i = bisect.bisect_left(hosts, host_time)
        if i == 0:
            return self.anchor[boot] + boards[0] - (hosts[0] - host_time)
        if i == len(hosts):
            return self.anchor[boot] + boards[-1] + (host_time - hosts[-1])
        h0, h1, b0, b1 = hosts[i - 1], hosts[i], boards[i - 1], boards[i]
        frac = (host_time - h0) / (h1 - h0) if h1 > h0 else 0.0
        return self.anchor[boot] + b0 + frac * (b1 - b0)


class Series(NamedTuple):
    """One unit's readings over time: process times and a list of values per field (None
    where the frame did not vouch for the reading)."""

    board: str
    unit: str
    t: list
    values: dict


def series(log, kind, fields, board=None, start=None, end=None):
    """[Series] of every unit of a kind (vessel, canister) in the log, in process time."""
    table = KIND_TABLES[kind]
    out = {}
    timelines = {}
    for row in log.frames(table, board, start, end, fields):
        name, unit, boot, _host, board_time = row[:5]
        key = (name, unit)
        s = out.get(key)
        if s is None:
            if name not in timelines:
                timelines[name] = log.timeline(name)
            s = out[key] = Series(name, unit, [], {f: [] for f in fields})
        if board_time is None:
            continue
        s.t.append(timelines[name].at(boot, board_time))
        for f, v in zip(fields, row[6:], strict=True):
            s.values[f].append(v)
    return list(out.values())


class Clocks:
    """The process clocks of a log's boards, each read once."""

    def __init__(self, log):
        self._log = log
        self._timelines = {}

    def timeline(self, board):
        if board not in self._timelines:
            self._timelines[board] = self._log.timeline(board)
        return self._timelines[board]

    def host(self, board, host_time, boot=None):
        """Process time of a wall time of a board (None stays None)."""
        if host_time is None or board is None:
            return host_time
        return self.timeline(board).host(host_time, boot)

    def raised(self, alarm):
        """Process time an alarm (a dict of Log.alarms) was raised."""
        if alarm["raised_board_time"] is not None:
            return self.timeline(alarm["board"]).at(alarm["boot"], alarm["raised_board_time"])
        return self.host(alarm["board"], alarm["raised"], alarm["boot"])
