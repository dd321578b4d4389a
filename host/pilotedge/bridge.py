"""The MQTT bridge: a logger's boards as a Sparkplug B edge node on the site's broker, and
the broker's commands through the logger.

    from pilotedge.bridge import Bridge
    from pilotedge import mqtt

    bridge = Bridge("line3.sqlite", mqtt.broker("mqtt://broker:1883"), "site", "line3")
    bridge.run()          # until bridge.stop(), reconnecting to the broker as it comes and goes

The edge node (spBv1.0/<group>/.../<node>) is the logger's log; each board in it is a device
named as the logger names it (pilotedge.sparkplug.metrics has every metric). On each
connection: NBIRTH with a new bdSeq, whose NDEATH is the connection's MQTT will; a DBIRTH
before a board's first DDATA; one DDATA per telemetry frame, event, parameter value and
command outcome (audit row); seq 0..255 across them; NCMD Node Control/Rebirth births
everything again.

Store and forward: the log is the queue. Rows are read from the logger's SQLite in order and
published at QoS 1; how far the broker has acknowledged each table is written back to the
log (mqtt_sent), so while the broker or the network is down rows simply wait in the log, and
after a restart of anything (broker, network, logger, bridge) publishing resumes where the
broker's acknowledgements stopped. Rows that waited are marked is_historical. A row whose
acknowledgement was lost is published again: the historian stores it once.

Commands (DCMD) go to the logger that owns the log through its control endpoint, so they get
the CLI's checks, ACK words and audit row, with the MQTT client as the operator and origin
"mqtt". Who may send what is the access file's (pilotedge.access); a command refused here,
unreadable, stale (more than a minute old) or from an unknown sender gets an audit row
"refused" with the reason; a DCMD delivered twice runs once.
"""

import collections
import hashlib
import json
import logging
import queue
import socket
import sqlite3
import ssl
import threading
import time
import uuid
from pathlib import Path

from . import __version__, control, logdb, mqtt
from . import sparkplug as spb
from .access import Access
from .boardinfo import Unit
from .errors import LinkError, LogError, PilotedgeError, UsageError
from .sparkplug import metrics as spm

_log = logging.getLogger(__name__)

POLL_S = 0.05  # how often the log is read for new rows
BATCH = 500  # rows read from a table at a time
MAX_UNACKED = 2000  # rows published and not yet acknowledged by the broker
SAVE_S = 1.0  # how often acknowledged positions are written to the log
COMMAND_WINDOW_S = 60.0  # a command older than this, or seen before within it, is not run
_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)
CMD_TOPIC = "pilotedge/cmd"  # + /<client>/<group>/<node>/<board>: commands with a sender
REBIRTH = "Node Control/Rebirth"


class Outbox:
    """The log as the bridge's outbox: its rows in order, the positions the broker has
    acknowledged (saved every SAVE_S by a thread of its own, since the logger holds the
    file's write lock for up to half a second), and audit rows of refused commands."""

    def __init__(self, path, broker_key, group, node):
        self.path = Path(path)
        if not self.path.is_file():
            raise LogError("no log at %s: start the logger on it first (pilotedge log PORT "
                           "--db %s)" % (path, path))
        try:
            # Two connections: the writer waits for the logger's write lock, reads never do.
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0,
                                       isolation_level=None)
            self._read = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0,
                                         isolation_level=None)
            self._read.row_factory = sqlite3.Row
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version != logdb.SCHEMA_VERSION:
                raise LogError("the log %s has schema %d and this bridge reads %d: run this "
                               "pilotedge's logger on it once, which migrates it"
                               % (path, version, logdb.SCHEMA_VERSION))
            self._db.execute("BEGIN IMMEDIATE")
            source = self._db.execute("SELECT source FROM mqtt_nodes LIMIT 1").fetchone()
            self._db.execute(
                "INSERT OR IGNORE INTO mqtt_nodes (broker, grp, node, source) VALUES (?, ?, ?, ?)",
                (broker_key, group, node, source[0] if source else uuid.uuid4().hex))
            self._db.execute("COMMIT")
            self.node_id, self.source = self._db.execute(
                "SELECT id, source FROM mqtt_nodes WHERE broker = ? AND grp = ? AND node = ?",
                (broker_key, group, node)).fetchone()
            self.acked = {t: 0 for t in spm.ROW_TABLES + ("audit",)}
            self.acked.update(self._db.execute(
                "SELECT tbl, last_id FROM mqtt_sent WHERE node = ?", (self.node_id,)).fetchall())
        except sqlite3.Error as exc:
            raise LogError("cannot read the log %s: %s" % (path, exc)) from None
        self._saved = dict(self.acked)
        self._refusals = queue.Queue()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._saver = threading.Thread(target=self._save_loop, daemon=True,
                                       name="pilotedge-bridge-save")
        self._saver.start()
        self._names = {}
        self._units = {}

    def next_bd_seq(self):
        """The bdSeq of a new MQTT session (0..255), stored before it is used."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            value = self._db.execute("SELECT bd_seq FROM mqtt_nodes WHERE id = ?",
                                     (self.node_id,)).fetchone()[0]
            self._db.execute("UPDATE mqtt_nodes SET bd_seq = ? WHERE id = ?",
                             ((value + 1) % 256, self.node_id))
            self._db.execute("COMMIT")
        return value

    def refuse(self, row):
        """Write an audit row of a command the bridge did not run (on the saver thread)."""
        self._refusals.put(row)

    def close(self):
        self._closing.set()
        self._saver.join()
        self._db.close()
        self._read.close()

    def _save_loop(self):
        while not self._closing.wait(SAVE_S):
            self._save()
        self._save()

    def _save(self):
        changed = {t: i for t, i in self.acked.items() if self._saved.get(t) != i}
        refusals = []
        while not self._refusals.empty():
            refusals.append(self._refusals.get())
        if not changed and not refusals:
            return
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT OR REPLACE INTO mqtt_sent (node, tbl, last_id) VALUES (?, ?, ?)",
                    [(self.node_id, t, i) for t, i in changed.items()])
                for row in refusals:
                    cols = ", ".join('"%s"' % c for c in row)
                    self._db.execute("INSERT INTO audit (%s) VALUES (%s)" % (
                        cols, ", ".join("?" * len(row))), tuple(row.values()))
                self._db.execute("COMMIT")
            self._saved.update(changed)
        except sqlite3.Error as exc:  # the logger held the file too long: next time
            _log.warning("could not save the bridge's positions in %s: %s", self.path, exc)
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            for row in refusals:
                self._refusals.put(row)

    # -- reading (the bridge's thread) --------------------------------------------------------

    def _query(self, sql, args=()):
        return self._read.execute(sql, args).fetchall()

    def horizon(self):
        """{table: its highest row id now}."""
        return {t: self._query("SELECT coalesce(max(id), 0) FROM %s" % t)[0][0]
                for t in self.acked}

    def rows(self, table, after, limit):
        if table == "audit":
            return self._query("SELECT a.*, s.ended IS NOT NULL OR s.end_reason IS NOT NULL "
                               "AS session_over FROM audit a LEFT JOIN sessions s ON "
                               "s.id = a.session WHERE a.id > ? ORDER BY a.id LIMIT ?",
                               (after, limit))
        return self._query("SELECT t.*, b.board AS board_ref, b.boot_count AS boot_count "
                           "FROM %s t JOIN boots b ON b.id = t.boot WHERE t.id > ? "
                           "ORDER BY t.id LIMIT ?" % table, (after, limit))

    def board_name(self, board_ref):
        if board_ref not in self._names:
            self._names = dict(self._query("SELECT id, name FROM boards"))
        return self._names.get(board_ref, str(board_ref))

    def board_ref(self, name):
        """The boards.id of a board name, or None."""
        row = self._query("SELECT id FROM boards WHERE name = ?", (name,))
        return row[0][0] if row else None

    def units(self, board_ref):
        """[Unit] of a board, as its latest HELLO named them."""
        return [Unit(*r) for r in self._query(
            "SELECT unit, name, kind FROM units WHERE board = ? ORDER BY unit", (board_ref,))]

    def unit_name(self, board_ref, number):
        key = (board_ref, number)
        if key not in self._units:
            for u in self.units(board_ref):
                self._units[(board_ref, u.number)] = u.name
        return self._units.get(key, str(number))

    def birth_state(self, board_ref, units):
        """(board info, latest telemetry by unit number, parameter values) for a DBIRTH."""
        boot = self._query("SELECT * FROM boots WHERE board = ? ORDER BY id DESC LIMIT 1",
                           (board_ref,))
        info = {}
        if boot:
            board_id = self._query("SELECT board_id FROM boards WHERE id = ?", (board_ref,))
            info = {k: boot[0][k] for k in ("firmware", "boot_count", "reset_cause",
                                            "schema_hash")}
            info["board_id"] = board_id[0][0]
        latest = {}
        for u in units:
            table = u.kind
            if table not in spm.TELEMETRY_TABLES:
                continue
            row = self._query("SELECT t.* FROM %s t JOIN boots b ON b.id = t.boot WHERE "
                              "b.board = ? AND t.unit = ? ORDER BY t.id DESC LIMIT 1" % table,
                              (board_ref, u.number))
            if row:
                latest[u.number] = dict(row[0])
        params = {(r[0], r[1]): r[2] for r in self._query(
            "SELECT p.unit, p.name, p.new FROM param_changes p JOIN boots b ON b.id = p.boot "
            "WHERE b.board = ? ORDER BY p.id", (board_ref,))}
        return info, latest, params


class _Session:
    """One MQTT connection: its client, sequence numbers, births and unacknowledged rows."""

    def __init__(self, client, bd_seq, horizon, acked):
        self.client = client
        self.bd_seq = bd_seq
        self.horizon = horizon
        self.sent = dict(acked)  # {table: last row id published}
        self.pending = {}  # mid -> (table, row id) of a row waiting for its PUBACK
        self.acks = collections.deque()  # mids the broker acknowledged (paho's thread)
        self.events = queue.Queue()  # ("connack" | "disconnect" | "message", detail)
        self.born = {}  # board name -> unit numbers of its DBIRTH
        self.seq = 0
        self.up = False

    def next_seq(self):
        seq = self.seq
        self.seq = (seq + 1) % 256
        return seq


class Bridge:
    """The log `db` as edge node `node` of group `group` on `broker` (mqtt.Broker).

    access: an Access (who may command what); none: every command is refused. keepalive:
    seconds of MQTT keepalive (a cut network is noticed within 1.5 times that). execute:
    execute(request) -> outcome for commands, by default the running logger of the log.
    on_note(text): what happens, in words (connections, commands), for a console.
    """

    def __init__(self, db, broker, group, node, access=None, keepalive=10, execute=None,
                 on_note=None):
        self.broker = broker
        self.group = spb.check_id(group, "group")
        self.node = spb.check_id(node, "edge node")
        self.access = access or Access()
        self.keepalive = keepalive
        self.outbox = Outbox(db, broker.describe(), group, node)
        self._execute = execute or self._through_logger
        self._note = on_note or (lambda text: _log.info("%s", text))
        self._stopping = threading.Event()
        self._seen = {}  # command digest -> when it came
        self.connected = threading.Event()
        self.published = 0  # rows acknowledged by the broker, this run

    def stop(self):
        self._stopping.set()

    def run(self):
        """Publish until stop(), reconnecting with backoff; the outbox is closed at the end."""
        tries = 0
        try:
            while not self._stopping.is_set():
                try:
                    self._session()
                    tries = 0
                except (OSError, ssl.SSLError, _Refused) as exc:
                    wait = _BACKOFF_S[min(tries, len(_BACKOFF_S) - 1)]
                    if tries == 0 or isinstance(exc, _Refused):
                        self._note("broker %s: %s; retrying every %g s or so"
                                   % (self.broker.describe(), _words(exc), wait))
                    tries += 1
                    self._stopping.wait(wait)
        finally:
            self.outbox.close()

    # -- one connection ----------------------------------------------------------------------

    def _session(self):
        bd_seq = self.outbox.next_bd_seq()
        # A new client per connection, its network thread ending with it: messages left
        # unacknowledged are published again from the log, after the new NBIRTH, never
        # resent by paho with the old session's seq.
        client = mqtt.client(self.broker, "pilotedge-%s-%s" % (self.group, self.node),
                             reconnect=False)
        client.will_set(spb.topic(self.group, "NDEATH", self.node), self._death(bd_seq), qos=1)
        client.max_inflight_messages_set(100)
        s = _Session(client, bd_seq, None, self.outbox.acked)
        client.on_connect = lambda c, u, f, rc, p: s.events.put(("connack", rc))
        client.on_disconnect = lambda c, u, f, rc, p: s.events.put(("disconnect", rc))
        client.on_publish = lambda c, u, mid, rc, p: s.acks.append(mid)
        client.on_message = lambda c, u, msg: s.events.put(("message", msg))
        client.connect(self.broker.host, self.broker.port, self.keepalive)
        client.loop_start()
        try:
            try:
                kind, rc = s.events.get(timeout=max(10.0, self.keepalive))
            except queue.Empty:
                raise _Refused("no answer to the connection") from None
            if kind != "connack" or rc.is_failure:
                raise _Refused("refused the connection: %s" % rc)
            client.subscribe([(spb.topic(self.group, "NCMD", self.node), 1),
                              (spb.topic(self.group, "DCMD", self.node, "+"), 1),
                              ("%s/+/%s/%s/+" % (CMD_TOPIC, self.group, self.node), 1)])
            s.up = True
            s.horizon = self.outbox.horizon()
            self._node_birth(s)
            self.connected.set()
            self._note("connected to %s as spBv1.0/%s/%s (bdSeq %d)"
                       % (self.broker.describe(), self.group, self.node, bd_seq))
            while s.up and not self._stopping.is_set():
                self._take_acks(s)
                self._publish_rows(s)
                try:
                    kind, detail = s.events.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                if kind == "disconnect":
                    s.up = False
                    self._note("lost the broker %s: %s" % (self.broker.describe(), detail))
                elif kind == "message":
                    self._on_message(s, detail)
            if s.up:  # stopping: the node's death, said rather than left to the will
                client.publish(spb.topic(self.group, "NDEATH", self.node), self._death(bd_seq),
                               qos=1).wait_for_publish(2.0)
                self._take_acks(s)
                client.disconnect()
        except (RuntimeError, ValueError) as exc:  # paho: publish on a dead connection
            self._note("lost the broker %s: %s" % (self.broker.describe(), exc))
        finally:
            self.connected.clear()
            client.loop_stop()
            if s.up:
                self._take_acks(s)

    def _death(self, bd_seq):
        return spb.encode([spb.Metric("bdSeq", spb.INT64, bd_seq)])

    def _publish(self, s, kind, metrics, device=None, ts_ms=None):
        info = s.client.publish(spb.topic(self.group, kind, self.node, device),
                                spb.encode(metrics, s.next_seq(), ts_ms), qos=1)
        return info.mid

    def _node_birth(self, s):
        s.seq = 0
        s.born = {}
        self._publish(s, "NBIRTH", [
            spb.Metric("bdSeq", spb.INT64, s.bd_seq),
            spb.Metric(REBIRTH, spb.BOOLEAN, False),
            spb.Metric("log/source", spb.STRING, self.outbox.source),
            spb.Metric("pilotedge/version", spb.STRING, __version__)])

    def _device_birth(self, s, name, board_ref):
        units = self.outbox.units(board_ref)
        info, latest, params = self.outbox.birth_state(board_ref, units)
        self._publish(s, "DBIRTH", spm.device_birth(units, info, latest, params), name)
        s.born[name] = {u.number for u in units}

    def _take_acks(self, s):
        acked = self.outbox.acked
        while s.acks:
            entry = s.pending.pop(s.acks.popleft(), None)
            if entry is not None:
                table, row_id = entry
                acked[table] = max(acked[table], row_id)
                self.published += 1

    # -- rows ----------------------------------------------------------------------------------

    def _publish_rows(self, s):
        budget = min(BATCH, MAX_UNACKED - len(s.pending))
        if budget <= 0:
            return
        rows, cut = [], None
        for table in spm.ROW_TABLES:
            got = self.outbox.rows(table, s.sent[table], budget)
            if len(got) == budget:  # more wait: later rows of other tables wait for them
                cut = min(cut, got[-1]["host_time"]) if cut is not None else got[-1]["host_time"]
            rows += [(r["host_time"], r["id"], table, r) for r in got]
        rows.sort(key=lambda r: r[:2])
        held = set()
        for host_time, row_id, table, row in rows:
            if table in held or (cut is not None and host_time > cut):
                held.add(table)  # a table's rows go in id order
                continue
            self._publish_row(s, table, row)
            s.sent[table] = row_id
        for row in self.outbox.rows("audit", s.sent["audit"], budget):
            if row["result"] == "sent" and row["done"] is None and not row["session_over"]:
                break  # still running: its outcome comes first
            self._publish_command(s, row)
            s.sent["audit"] = row["id"]

    def _publish_row(self, s, table, row):
        board = self.outbox.board_name(row["board_ref"])
        if s.born.get(board) is None or row["unit"] not in s.born[board]:
            self._device_birth(s, board, row["board_ref"])
        log = {"source": self.outbox.source, "table": table, "id": row["id"],
               "unit": row["unit"], "boot": row["boot"], "boot_count": row["boot_count"],
               "board_time": row["board_time"], "seq": row["seq"]}
        ts_ms = int(row["host_time"] * 1000)
        metrics = spm.row_metrics(log, table, self.outbox.unit_name(row["board_ref"],
                                                                   row["unit"]),
                                  dict(row), ts_ms, row["id"] <= s.horizon[table])
        s.pending[self._publish(s, "DDATA", metrics, board, ts_ms)] = (table, row["id"])

    def _publish_command(self, s, row):
        board = row["board"]
        if board not in s.born:
            ref = self.outbox.board_ref(board)
            if ref is None:  # a port no board answered on: not a device
                s.sent["audit"] = row["id"]
                self.outbox.acked["audit"] = max(self.outbox.acked["audit"], row["id"])
                return
            self._device_birth(s, board, ref)
        ts_ms = int(row["host_time"] * 1000)
        log = {"source": self.outbox.source, "table": "audit", "id": row["id"]}
        metrics = spm.command_metrics(log, dict(row), ts_ms, row["id"] <= s.horizon["audit"])
        s.pending[self._publish(s, "DDATA", metrics, board, ts_ms)] = ("audit", row["id"])

    # -- commands ------------------------------------------------------------------------------

    def _on_message(self, s, msg):
        topic = spb.parse_topic(msg.topic)
        if topic is not None and topic.type == "NCMD":
            try:
                payload = spb.decode(msg.payload)
            except UsageError as exc:
                self._note("ignored an NCMD: %s" % exc)
                return
            if any(m.name == REBIRTH and m.value for m in payload.metrics):
                self._note("rebirth asked for")
                born = list(s.born)
                self._node_birth(s)
                for name in born:
                    self._device_birth(s, name, self.outbox.board_ref(name))
            return
        if topic is not None:  # a plain DCMD: no sender but the access file's word
            client, board = self.access.dcmd_client, topic.device
        else:
            parts = msg.topic.split("/")
            client, board = parts[2], parts[5]
        self._command(client, board, msg.topic, msg.payload)

    def _command(self, client, board, topic, data):
        now = time.time()
        digest = hashlib.sha256(topic.encode() + b"\0" + data).digest()
        self._seen = {k: t for k, t in self._seen.items() if now - t < COMMAND_WINDOW_S}
        if digest in self._seen:
            self._note("ignored a second delivery of a command from %s to %s"
                       % (client or "?", board))
            return
        self._seen[digest] = now
        sender = client or "unknown"
        try:
            payload = spb.decode(data)
            reqs = spm.requests(payload.metrics)
            person = spm.operator(payload.metrics)
            if payload.timestamp_ms is None:
                raise UsageError("the DCMD has no timestamp")
            age = now - payload.timestamp_ms / 1000
            if abs(age) > COMMAND_WINDOW_S:
                raise UsageError("the DCMD was sent %.0f s %s: stale" % (
                    abs(age), "ago" if age > 0 else "in the future"))
        except UsageError as exc:
            return self._refuse(sender, board, {"op": "DCMD", "args": {"topic": topic}},
                                str(exc))
        operator = sender if person is None else "%s:%s" % (sender, person)
        allowed = []
        for req in reqs:
            req.update(board=board, origin="mqtt", operator=operator)
            if client is None:
                why = ("a plain DCMD does not say who sent it, and the access file names no "
                       "dcmd_client")
            elif self.outbox.board_ref(board) is None:
                why = "no board %s in the log" % board
            else:
                why = self.access.refusal(client, board, req)
            if why:
                self._refuse(operator, board, req, why)
            else:
                allowed.append(req)
        if allowed:
            threading.Thread(target=self._run_commands, args=(allowed,), daemon=True,
                             name="pilotedge-bridge-command").start()

    def _refuse(self, operator, board, req, why):
        self._note("refused %s from %s to %s: %s" % (req["op"], operator, board, why))
        now = time.time()
        self.outbox.refuse({
            "host_time": now, "operator": operator, "os_user": logdb._os_user(),
            "origin": "mqtt", "board": board, "unit": req.get("unit"), "command": req["op"],
            "arguments": json.dumps(req.get("args", {})), "result": "refused",
            "reason": why, "done": now})

    def _run_commands(self, reqs):
        for req in reqs:
            try:
                outcome = self._execute(req)
                self._note("%s from %s: %s" % (req["op"], req["operator"], outcome["text"]))
            except PilotedgeError as exc:
                self._note("%s from %s failed: %s" % (req["op"], req["operator"], exc))
                if isinstance(exc, _NoLogger):
                    self._refuse(req["operator"], req["board"], req, str(exc))

    def _through_logger(self, req):
        states = control.loggers(self.outbox.path)
        if not states:
            raise _NoLogger("no logger is running for the log %s" % self.outbox.path)
        return control.call(states[0], req)


class _Refused(Exception):
    """The broker refused the connection (credentials, authorisation)."""


class _NoLogger(LinkError):
    """No logger runs for the log: a command cannot reach its board."""


def _words(exc):
    if isinstance(exc, socket.timeout):
        return "no answer"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
