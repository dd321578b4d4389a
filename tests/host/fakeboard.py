"""A fake board for Link tests: the protocol over TCP (socket://) with the shared framing.

It answers HELLO, COMMAND (with a cmd_id dedup cache, as the firmware must), PARAM_GET and
PARAM_SET, and sends heartbeats and telemetry only when a test asks, so nothing depends on
timing. Knobs: schema_hash, header_version, hw_max, dose_s, drop_acks, silent.
"""

import socket
import struct
import threading
import time
from collections import Counter

from cobs import cobs

from pilotproto import convert, framing
from pilotproto import messages as m

PARAMS = {p[1]: p for p in m.PARAMS}
IDS = {v[0]: k for k, v in m.MESSAGES.items()}


def wait_until(predicate, timeout_s=5.0):
    """Poll until predicate() holds; AssertionError after timeout_s (a bound, not a measure)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %.1f s" % timeout_s)
        time.sleep(0.002)


class FakeClock:
    """An injectable monotonic clock in seconds that moves only when a test moves it."""

    def __init__(self):
        self.now_s = 1000.0

    def __call__(self):
        return self.now_s


class FakeBoard:
    def __init__(
        self, schema_hash=m.SCHEMA_HASH, header_version=m.VERSION, hw_max=None, dose_s=0.0
    ):
        self.schema_hash = schema_hash
        self.header_version = header_version  # another value: a board of another protocol
        self.hw_max = hw_max or {}  # parameter -> raw maximum tighter than the spec's
        self.dose_s = dose_s  # how long a DOSE stays IN_PROGRESS
        self.drop_acks = 0  # lose this many of the next ACKs on the way to the host
        self.silent = False  # ignore commands altogether
        self.params = {name: p[6] for name, p in PARAMS.items()}
        self.received = Counter()  # message name -> frames received
        self.commands = Counter()  # cmd_id -> COMMAND frames received
        self.executed = Counter()  # cmd_id -> times actually run
        self.host_heartbeats = 0
        self._acks = {}  # the dedup cache: cmd_id -> latest ACK fields
        self._encoder = framing.Encoder()
        self._decoder = framing.Decoder()
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = "socket://127.0.0.1:%d" % self._server.getsockname()[1]
        self._conn = None
        self._connected = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    # -- what tests call -------------------------------------------------------------------

    def heartbeat(self):
        self.send(
            "HEARTBEAT",
            {
                "uptime": 1.0,
                "state": "RUN",
                "faults": 0,
                "overruns": 0,
                "cycle_max": 1.5,
                "heap_free": 50000,
                "rx_errors": 0,
            },
        )

    def send(self, name, fields):
        """Send a message from engineering values."""
        msg_id = IDS[name]
        with self._lock:
            wire = bytes(self._encoder.encode(msg_id, convert.to_raw(msg_id, fields)))
            if self.header_version != m.VERSION:
                body = bytes([self.header_version]) + cobs.decode(wire[:-1])[1:-4]
                wire = cobs.encode(body + struct.pack("<I", framing.crc32(body))) + b"\x00"
            self._connected.wait(5.0)
            self._conn.sendall(wire)

    def skip_seq(self, n):
        """Lose the next n frames on the way to the host (as far as sequence numbers tell)."""
        with self._lock:
            self._encoder.seq = (self._encoder.seq + n) & 0xFF

    def close(self):
        self._server.close()
        if self._conn is not None:
            self._conn.close()

    # -- protocol --------------------------------------------------------------------------

    def _serve(self):
        try:
            self._conn, _ = self._server.accept()
        except OSError:
            return
        self._connected.set()
        while True:
            try:
                data = self._conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            self._decoder.feed(data, len(data), self._on_frame)

    def _on_frame(self, msg_id, seq, flags, body, n):
        fields = convert.from_raw(msg_id, framing.unpack(msg_id, body, n))
        name = m.MESSAGES[msg_id][0]
        self.received[name] += 1
        if name == "HELLO":
            self.send(
                "HELLO",
                {
                    "board_id": "fake-1",
                    "fw_major": 0,
                    "fw_minor": 0,
                    "fw_patch": 1,
                    "proto_version": self.header_version,
                    "schema_hash": self.schema_hash,
                    "boot_count": 1,
                    "reset_cause": "POWER_ON",
                    "vessels": 2,
                    "canisters": 1,
                    "uptime": 1.0,
                },
            )
        elif name == "HEARTBEAT":
            self.host_heartbeats += 1
        elif name == "COMMAND":
            self._on_command(fields)
        elif name == "PARAM_GET":
            self._param(fields["unit"], fields["name"], None)
        elif name == "PARAM_SET":
            self._param(fields["unit"], fields["name"], fields["value"])

    def _on_command(self, cmd):
        cmd_id = cmd["cmd_id"]
        self.commands[cmd_id] += 1
        if self.silent:
            return
        cached = self._acks.get(cmd_id)
        if cached is not None:
            self._send_ack(cached)  # a retransmission: answer again, never run again
            return
        self.executed[cmd_id] += 1
        verb = cmd["verb"]
        if verb == "DOSE":
            self._ack(cmd_id, verb, "IN_PROGRESS", progress=0)
            done = threading.Timer(
                self.dose_s, self._ack, (cmd_id, verb, "DONE"), {"value": cmd["arg1"]}
            )
            done.daemon = True
            done.start()
        elif verb in ("PING", "STOP"):
            self._ack(cmd_id, verb, "ACCEPTED")
        else:
            self._ack(cmd_id, verb, "REJECTED", reason="UNKNOWN_VERB")

    def _ack(self, cmd_id, verb, result, reason="NONE", progress=255, value=0):
        ack = {
            "cmd_id": cmd_id,
            "verb": verb,
            "result": result,
            "reason": reason,
            "progress": progress,
            "value": value,
        }
        self._acks[cmd_id] = ack
        self._send_ack(ack)

    def _send_ack(self, ack):
        if self.drop_acks:
            self.drop_acks -= 1
            return
        self.send("ACK", ack)

    def _param(self, unit, name, new):
        """Answer with the value in force, changed only when `new` is within limits."""
        p = PARAMS.get(name)
        result = "OK"
        if p is None:
            result, value, index = "UNKNOWN", 0, 0
        else:
            if new is not None:
                if p[4] <= new <= min(p[5], self.hw_max.get(name, p[5])):
                    self.params[name] = new
                else:
                    result = "OUT_OF_RANGE"
            value, index = self.params[name], list(PARAMS).index(name)
        self.send(
            "PARAM_VALUE",
            {
                "unit": unit,
                "name": name,
                "value": value,
                "index": index,
                "count": len(PARAMS),
                "result": result,
            },
        )
