"""The historian's PostgreSQL database: its schema (versioned migrations) and idempotent
writes of what the bridges publish.

The schema is the one of a logger's SQLite log (pilotedge.logdb) - the same table, view and
column names - so a query for a board's history or a batch report reads both alike:

- sql/historian/NNNN_name.sql: migrations, applied in order once each and recorded in
  schema_migrations (version, name, applied); a database of a newer pilotedge is refused.
- the message tables (vessel, canister, event, param_value, and the others of the spec,
  empty: heartbeats, HELLOs, ACKs and LOG text are not carried), made from the protocol spec
  at every start as the log makes them: a field new in the spec becomes a column. Each row
  has src and src_id (its log and its id there, unique) and stored (when it was written).
- views made after them: telemetry (the log's own definition), alarms, param_changes and
  batches (sql/historian/views.sql), computed from events, parameter values and commands.

    db = HistorianDB("postgresql://historian@db.site/pilotedge")
    db.store([...])        # (topic, payload) pairs in one transaction
"""

import time
from pathlib import Path

import psycopg

from . import logdb
from . import sparkplug as spb
from .errors import LogError, UsageError
from .sparkplug import metrics as spm

SQL = Path(__file__).resolve().parent / "sql" / "historian"
_LOCK = 0x70696C6F  # advisory lock: one historian migrates at a time
_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "TEXT": "TEXT"}
_VIEWS = ("telemetry", "alarms", "param_changes", "batches")


def migrations():
    """[(version, name, path)] of the schema's migration files, in order."""
    out = []
    for path in sorted(SQL.glob("[0-9]*_*.sql")):
        number, _sep, name = path.stem.partition("_")
        out.append((int(number), name, path))
    return out


SCHEMA_VERSION = migrations()[-1][0]


def _q(name):
    return '"%s"' % name


class HistorianDB:
    """A connection to the historian's database at url (postgresql://...), its schema
    brought up to date; LogError when it cannot be reached or is of a newer pilotedge."""

    def __init__(self, url):
        self.url = url
        try:
            self._con = psycopg.connect(url, connect_timeout=10)
            self.migrate()
        except psycopg.Error as exc:
            raise LogError("cannot use %s as the historian's database: %s"
                           % (_safe(url), str(exc).strip().splitlines()[0])) from None
        self._forget()

    def close(self):
        self._con.close()

    def _forget(self):
        """Drop the cached ids (a rolled-back transaction may have made them)."""
        self._sources, self._boards, self._boots, self._units = {}, {}, {}, set()
        self._births = {}  # board id -> {boot_count: info of its DBIRTH}

    # -- schema ------------------------------------------------------------------------------

    def migrate(self):
        con = self._con
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
                        "PRIMARY KEY, name TEXT NOT NULL, applied TIMESTAMPTZ NOT NULL "
                        "DEFAULT now())")
            done = {r[0] for r in con.execute("SELECT version FROM schema_migrations")}
            if done and max(done) > SCHEMA_VERSION:
                raise LogError("the historian's database has schema %d; this pilotedge knows "
                               "up to %d" % (max(done), SCHEMA_VERSION))
            for version, name, path in migrations():
                if version not in done:
                    con.execute(path.read_text())
                    con.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                                (version, name))
            for view in _VIEWS:
                con.execute("DROP VIEW IF EXISTS %s" % view)
            self._spec_tables()
            con.execute(logdb.telemetry_view_sql())
            con.execute((SQL / "views.sql").read_text())

    def _spec_tables(self):
        con = self._con
        for table, msg_id in logdb.FRAME_TABLES.items():
            columns = logdb.message_columns(msg_id)
            cols = ["%s %s" % (_q(c), _TYPES[t]) for c, t, *_ in columns]
            con.execute(
                "CREATE TABLE IF NOT EXISTS %s (id BIGSERIAL PRIMARY KEY, boot BIGINT NOT NULL "
                "REFERENCES boots(id), host_time DOUBLE PRECISION NOT NULL, board_time DOUBLE "
                "PRECISION, seq INTEGER, %s, src BIGINT NOT NULL REFERENCES sources(id), "
                "src_id BIGINT NOT NULL, stored DOUBLE PRECISION NOT NULL DEFAULT "
                "extract(epoch FROM clock_timestamp()), UNIQUE (src, src_id))"
                % (table, ", ".join(cols)))
            con.execute("CREATE INDEX IF NOT EXISTS %s_boot ON %s (boot, host_time)"
                        % (table, table))
            for col in cols:
                con.execute("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s" % (table, col))
            for c, _t, unit, enum, bits in columns:
                con.execute("INSERT INTO columns VALUES (%s, %s, %s, %s, %s) ON CONFLICT "
                            "(tbl, col) DO UPDATE SET unit = EXCLUDED.unit, enum = "
                            "EXCLUDED.enum, bits = EXCLUDED.bits", (table, c, unit, enum, bits))

    # -- writing -----------------------------------------------------------------------------

    def store(self, messages):
        """Write what a batch of (topic, payload bytes) says, in one transaction; returns
        the rows written (a row already stored is not written again). psycopg.Error when
        the database failed: nothing of the batch is written then."""
        rows = {}  # table -> [row tuples]
        try:
            with self._con.transaction():
                for topic_text, data in messages:
                    self._message(topic_text, data, rows)
                written = 0
                for table, values in rows.items():
                    written += self._insert(table, values)
            return written
        except psycopg.Error:
            self._forget()
            raise

    def _message(self, topic_text, data, rows):
        topic = spb.parse_topic(topic_text)
        if topic is None:
            return
        try:
            payload = spb.decode(data)
        except UsageError:
            return  # no Sparkplug payload: nothing to store
        now = time.time()
        if topic.type in ("NBIRTH", "NDEATH"):
            bd_seq = next((m.value for m in payload.metrics if m.name == "bdSeq"), None)
            self._con.execute(
                "INSERT INTO nodes VALUES (%s, %s, %s, %s, %s) ON CONFLICT (grp, node) DO "
                "UPDATE SET online = EXCLUDED.online, bd_seq = EXCLUDED.bd_seq, since = "
                "EXCLUDED.since", (topic.group, topic.node, topic.type == "NBIRTH", bd_seq, now))
        elif topic.type == "DBIRTH":
            info = {m.name[6:]: m.value for m in payload.metrics if m.name.startswith("board/")}
            board = self._board(topic, info.get("board_id"), now)
            self._births.setdefault(board, {})[info.get("boot_count")] = info
            self._con.execute(
                "UPDATE boots SET firmware = %s, reset_cause = %s, schema_hash = %s WHERE "
                "board = %s AND boot_count = %s AND firmware IS NULL",
                (info.get("firmware"), info.get("reset_cause"), info.get("schema_hash"), board,
                 info.get("boot_count")))
        elif topic.type == "DDATA":
            parsed = spm.parse_row(payload.metrics)
            if parsed is not None:
                self._row(topic, payload, parsed, rows)

    def _row(self, topic, payload, parsed, rows):
        log, unit, values = parsed
        table = log["table"]
        host_time = payload.timestamp_ms / 1000
        src = self._source(log["source"], topic, host_time)
        board = self._board(topic, None, host_time)
        if table == "audit":
            rows.setdefault(table, []).append(
                (*values.values(), topic.device, src, log["id"]))
            return
        boot = self._boot(board, src, log, host_time)
        if log.get("unit") is not None and (board, log["unit"]) not in self._units:
            kind = table if table in spm.TELEMETRY_TABLES else (
                "board" if unit == spm.BOARD else None)
            if kind is not None:
                self._con.execute(
                    "INSERT INTO units VALUES (%s, %s, %s, %s) ON CONFLICT (board, unit) DO "
                    "UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind",
                    (board, log["unit"], unit, kind))
                self._units.add((board, log["unit"]))
        rows.setdefault(table, []).append(
            (boot, host_time, log.get("board_time"), log.get("seq"), log.get("unit"),
             *values.values(), src, log["id"]))

    def _insert(self, table, values):
        if table == "audit":
            cols = [c for c, _dt, _u in spm.COMMAND] + ["board", "src", "src_id"]
        else:
            cols = ["boot", "host_time", "board_time", "seq", "unit"] + [
                c for c, _dt, _u in spm.columns(table)] + ["src", "src_id"]
        sql = "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (src, src_id) DO NOTHING" % (
            table, ", ".join(_q(c) for c in cols), ", ".join(["%s"] * len(cols)))
        with self._con.cursor() as cur:
            cur.executemany(sql, values, returning=False)
            return cur.rowcount if cur.rowcount >= 0 else len(values)

    def _source(self, source, topic, when):
        key = source
        if key not in self._sources:
            self._sources[key] = self._con.execute(
                "INSERT INTO sources (source, grp, node, first_seen) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (source) DO UPDATE SET grp = EXCLUDED.grp, node = EXCLUDED.node "
                "RETURNING id", (source, topic.group, topic.node, when)).fetchone()[0]
        return self._sources[key]

    def _board(self, topic, board_id, when):
        key = (topic.group, topic.node, topic.device)
        if key not in self._boards or board_id is not None:
            self._boards[key] = self._con.execute(
                "INSERT INTO boards (name, board_id, first_seen, grp, node) VALUES "
                "(%s, %s, %s, %s, %s) ON CONFLICT (grp, node, name) DO UPDATE SET board_id = "
                "coalesce(EXCLUDED.board_id, boards.board_id) RETURNING id",
                (topic.device, board_id, when, topic.group, topic.node)).fetchone()[0]
        return self._boards[key]

    def _boot(self, board, src, log, when):
        key = (src, log["boot"])
        if key not in self._boots:
            info = self._births.get(board, {}).get(log["boot_count"], {})
            self._boots[key] = self._con.execute(
                "INSERT INTO boots (board, boot_count, firmware, reset_cause, schema_hash, "
                "first_seen, src, src_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT "
                "(src, src_id) DO UPDATE SET board = EXCLUDED.board RETURNING id",
                (board, log["boot_count"], info.get("firmware"), info.get("reset_cause"),
                 info.get("schema_hash"), when, src, log["boot"])).fetchone()[0]
        return self._boots[key]


def _safe(url):
    """A database URL without its password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _sep, userinfo = head.partition("//")
    return "%s//%s:***@%s" % (scheme, userinfo.split(":")[0], tail)
