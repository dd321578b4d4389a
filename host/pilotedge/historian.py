"""The historian: the site's Sparkplug traffic from the broker into PostgreSQL.

    from pilotedge.historian import Historian
    from pilotedge import mqtt

    Historian(mqtt.broker("mqtts://broker.site"), "postgresql://historian@db/pilotedge").run()

It keeps a persistent MQTT session (MQTT 5, clean start off, a session that outlives a week
offline) subscribed at QoS 1 to spBv1.0/<group>/#, so while it is down the broker keeps what
the bridges publish for it. A message is acknowledged to the broker only once its rows are
committed (paho's manual acknowledgement): a historian killed between the two gets the
message again and stores it once (pilotedge.historian_db: src and src_id are unique).
Messages are written in transactions of up to BATCH messages or FLUSH_S seconds.
"""

import logging
import queue
import socket
import threading
import time

import psycopg
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from . import mqtt
from .historian_db import HistorianDB

_log = logging.getLogger(__name__)

BATCH = 2000
FLUSH_S = 0.1
SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIVE_MAXIMUM = 4000  # messages the broker may send before their acknowledgements
_RETRY_S = (0.5, 1.0, 2.0, 5.0)


class Historian:
    """broker: an mqtt.Broker; db_url: postgresql://...; group: the Sparkplug group to
    store ("+" for every group); client_id: its persistent session's name at the broker.
    on_note(text): what happens, in words."""

    def __init__(self, broker, db_url, group="+", client_id=None, on_note=None):
        self.broker = broker
        self.db = HistorianDB(db_url)
        self.group = group
        self.client_id = client_id or "pilotedge-historian-%s" % socket.gethostname()
        self._note = on_note or (lambda text: _log.info("%s", text))
        self._inbox = queue.Queue()
        self._stopping = threading.Event()
        self.connected = threading.Event()
        self.stored = 0  # rows written by this run
        self._client = None

    def stop(self):
        self._stopping.set()

    def run(self):
        client = mqtt.client(self.broker, self.client_id, v5=True, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = lambda c, u, msg: self._inbox.put(msg)
        client.reconnect_delay_set(0.5, 5)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        client.connect_async(self.broker.host, self.broker.port, 10, clean_start=False,
                             properties=props)
        client.loop_start()
        self._client = client
        try:
            self._store_loop(client)
        finally:
            client.disconnect()
            client.loop_stop()
            self.db.close()

    def _on_connect(self, client, userdata, flags, rc, props):
        if rc.is_failure:
            self._note("broker %s refused the connection: %s" % (self.broker.describe(), rc))
            return
        client.subscribe("spBv1.0/%s/#" % self.group, qos=1)
        self.connected.set()
        self._note("connected to %s (session %s, %s)" % (
            self.broker.describe(), self.client_id,
            "resumed" if flags.session_present else "new"))

    def _on_disconnect(self, client, userdata, flags, rc, props):
        self.connected.clear()
        if not self._stopping.is_set():
            self._note("lost the broker %s: %s" % (self.broker.describe(), rc))

    def _store_loop(self, client):
        batch = []
        tries = 0
        while not self._stopping.is_set() or batch:
            deadline = time.monotonic() + FLUSH_S
            while len(batch) < BATCH and not self._stopping.is_set():
                try:
                    batch.append(self._inbox.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            if not batch:
                continue
            try:
                self.stored += self.db.store([(msg.topic, msg.payload) for msg in batch])
            except psycopg.Error as exc:  # the database went away: keep the batch, retry
                if self._stopping.is_set():
                    return  # unacknowledged: the broker sends them again
                self._note("database: %s; retrying" % str(exc).strip().splitlines()[0])
                self._stopping.wait(_RETRY_S[min(tries, len(_RETRY_S) - 1)])
                tries += 1
                self._reconnect_db()
                continue
            tries = 0
            for msg in batch:
                client.ack(msg.mid, msg.qos)
            batch = []

    def _reconnect_db(self):
        try:
            self.db.close()
            self.db = HistorianDB(self.db.url)
        except Exception as exc:  # LogError while it is still down
            _log.debug("database still down: %s", exc)
