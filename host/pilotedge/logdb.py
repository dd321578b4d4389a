"""SQLite log of everything a board reports: telemetry, events and log lines.

The embedded default store: one file, no server. Every frame is kept with the host's wall time
and the board's uptime, fields as JSON in engineering units, so nothing is lost while the
schema of the technician tools grows. Writes are batched and committed at least every second
and on close, in WAL mode so a reader (export, plots) never blocks the logger.
"""

import json
import sqlite3
import time
from pathlib import Path

from .errors import LogError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS boards (
    name TEXT PRIMARY KEY, board_id TEXT, firmware TEXT, schema_hash TEXT, first_seen REAL);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY, host_time REAL NOT NULL, board TEXT NOT NULL,
    uptime_s REAL, msg TEXT NOT NULL, unit INTEGER, seq INTEGER, fields TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS frames_by_msg ON frames (board, msg, unit, host_time);
"""


class LogDB:
    """Append-only frame log; `add` is cheap, `flush` commits. LogError when `path` cannot
    be a pilotedge log."""

    def __init__(self, path, commit_every_s=1.0, clock=time.time):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise ValueError("log schema version %d, this pilotedge writes %d"
                                 % (version, SCHEMA_VERSION))
            self._db.executescript(_SCHEMA)
            self._db.execute("PRAGMA user_version=%d" % SCHEMA_VERSION)
        except (OSError, sqlite3.Error, ValueError) as exc:
            raise LogError("cannot use %s as a pilotedge log: %s" % (self.path, exc)) from exc
        self._clock = clock
        self._pending = []
        self._last_commit = clock()
        self._every = commit_every_s

    def board_seen(self, name, hello_fields):
        """Record a board's identity from its HELLO (first sighting kept)."""
        f = hello_fields
        firmware = "%d.%d.%d" % (f["fw_major"], f["fw_minor"], f["fw_patch"])
        self._db.execute(
            "INSERT OR IGNORE INTO boards VALUES (?, ?, ?, ?, ?)",
            (name, f["board_id"], firmware, "%08X" % f["schema_hash"], self._clock()),
        )
        self._db.commit()

    def add(self, board, frame, uptime_s=None):
        """Queue one decoded frame; commits when the batch is a second old."""
        fields = frame.fields()
        self._pending.append((self._clock(), board, uptime_s, frame.name, fields.get("unit"),
                              frame.seq, json.dumps(fields, sort_keys=True)))
        if self._clock() - self._last_commit >= self._every:
            self.flush()

    def flush(self):
        if self._pending:
            self._db.executemany(
                "INSERT INTO frames (host_time, board, uptime_s, msg, unit, seq, fields) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", self._pending)
            self._db.commit()
            self._pending.clear()
        self._last_commit = self._clock()

    def count(self, msg=None):
        if msg is None:
            return self._db.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
        return self._db.execute("SELECT COUNT(*) FROM frames WHERE msg = ?", (msg,)).fetchone()[0]

    def close(self):
        self.flush()
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
