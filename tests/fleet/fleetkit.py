"""Helpers of the fleet tests: a Sparkplug client that records what it reads, a network that
can be cut, and the bridge and historian on threads.

Waits have generous wall-clock limits only to end a hung test; nothing asserts how long
anything took.
"""

import contextlib
import select
import socket
import sqlite3
import threading

import pytest
import services
import spbwire
from loggerkit import WAIT_S, wait_until  # noqa: F401 - the tests' one wait

from pilotedge import mqtt
from pilotedge import sparkplug as spb
from pilotedge.bridge import Bridge
from pilotedge.historian import Historian

# The servers are Debian packages that .ci/run installs on CI; a machine without them skips
# these tests with the reason (apt-get install mosquitto postgresql).
_MISSING = services.missing()
needs_servers = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")

# A site broker's ACL (mosquitto acl_file): an edge node is its user name and writes only its
# own node's topics; anyone sends commands only under its own name; the historian reads all
# and may ask for rebirths; scada is the Sparkplug host, alone allowed to write DCMD.
ACL = """\
pattern write spBv1.0/+/NBIRTH/%u
pattern write spBv1.0/+/NDEATH/%u
pattern write spBv1.0/+/DBIRTH/%u/+
pattern write spBv1.0/+/DDATA/%u/+
pattern write spBv1.0/+/DDEATH/%u/+
pattern read spBv1.0/+/NCMD/%u
pattern read spBv1.0/+/DCMD/%u/+
pattern read pilotedge/cmd/+/+/%u/+
pattern write pilotedge/cmd/%u/#

user historian
topic read spBv1.0/#
topic write spBv1.0/+/NCMD/+

user scada
topic readwrite spBv1.0/#
"""
USERS = {"line1": "pw-line1", "line2": "pw-line2", "historian": "pw-historian",
         "scada": "pw-scada", "alice": "pw-alice", "bob": "pw-bob", "mallory": "pw-mallory"}


def broker_of(server, user=None, **more):
    """An mqtt.Broker for a services.Mosquitto, as `user` (password from USERS)."""
    if user is None:
        return mqtt.broker(server.url, **more)
    return mqtt.Broker("127.0.0.1", server.port, False, user, USERS[user])


class Client:
    """A Sparkplug client: subscribes to `topics` and keeps every message (topic, payload
    bytes, decoded by spbwire); send() publishes."""

    def __init__(self, broker, topics=("spBv1.0/#",), client_id=None, keep=False):
        """keep: a persistent session (the broker keeps messages for it while it is away;
        it reconnects by itself)."""
        self.messages = []
        self._lock = threading.Lock()
        self._client = mqtt.client(broker, client_id or "test-%d" % id(self), clean=not keep)
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(0.1, 0.5)
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *a: subscribed.set()
        self._client.connect(broker.host, broker.port, 30)
        self._client.loop_start()
        if topics:
            self._client.subscribe([(t, 1) for t in topics])
            assert subscribed.wait(10), "no SUBACK"

    def _on_message(self, client, userdata, msg):
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), spbwire.payload(msg.payload)))

    def of(self, kind, device=None):
        """Decoded payloads of one message type (and device), in order."""
        with self._lock:
            return [p for t, _raw, p in self.messages
                    if t.split("/")[2] == kind and (device is None or t.endswith("/" + device))]

    def send(self, topic, data):
        self._client.publish(topic, data, qos=1).wait_for_publish(10)

    def close(self):
        self._client.disconnect()
        self._client.loop_stop()


def metrics(payload):
    """{name: value} of a decoded payload."""
    return {m["name"]: m["value"] for m in payload["metrics"]}


def dcmd(unit_metrics, operator=None, timestamp_ms=None):
    """A DCMD payload: {metric name: value}, numbers as Double, text as String."""
    out = [spb.Metric(name, spb.STRING if isinstance(v, str) else spb.DOUBLE, v)
           for name, v in unit_metrics.items()]
    if operator:
        out.append(spb.Metric("operator", spb.STRING, operator))
    return spb.encode(out, timestamp_ms=timestamp_ms)


class Proxy:
    """A TCP path to a port that can be cut like a network: cut() stops every byte both ways
    (sockets stay open, nothing is refused, as when a cable or a switch fails); mend()
    lets them flow again, and what was held flows on unless an end gave up meanwhile."""

    def __init__(self, port):
        self._target = port
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self):
        self._flowing.clear()

    def mend(self):
        self._flowing.set()

    def close(self):
        self._stop = True
        self._flowing.set()
        self._server.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target))
            except OSError:
                conn.close()
                continue
            threading.Thread(target=self._pump, args=(conn, upstream), daemon=True).start()

    def _pump(self, a, b):
        with a, b:
            while not self._stop:
                self._flowing.wait()
                ready, _, _ = select.select([a, b], [], [], 0.1)
                if not self._flowing.is_set():
                    continue
                for sock in ready:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        return
                    try:
                        (b if sock is a else a).sendall(data)
                    except OSError:
                        return


@contextlib.contextmanager
def running(service):
    """A Bridge or Historian running on a thread for the block, then stopped."""
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.stop()
        thread.join(WAIT_S)
        assert not thread.is_alive(), "%s did not stop" % type(service).__name__


def bridge(db, broker, node="line1", group="site", **kwargs):
    return running(Bridge(db, broker, group, node, **kwargs))


def historian(broker, db_url, client_id="historian", **kwargs):
    return running(Historian(broker, db_url, client_id=client_id, **kwargs))


def log_rows(db, table):
    """Ids of a log table's rows."""
    with sqlite3.connect(db) as con:
        return [r[0] for r in con.execute("SELECT id FROM %s ORDER BY id" % table)]


def acked(db, table):
    """How far the broker acknowledged a log table (0: not at all)."""
    with sqlite3.connect(db) as con:
        row = con.execute("SELECT max(last_id) FROM mqtt_sent WHERE tbl = ?", (table,)).fetchone()
        return row[0] or 0
