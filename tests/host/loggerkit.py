"""Helpers of the logger tests: a cable that can be pulled, a board of another spec, the
logger as a process, and a bench board to log.

Waits have generous wall-clock limits only to end a hung test; nothing asserts how long
anything took.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import serial

from pilotedge import codec
from pilotproto import messages as m
from pilotproto import schema

SMOKE = Path(__file__).resolve().parents[1] / "sim" / "scenarios" / "smoke.toml"
WAIT_S = 60.0


def fields_of(msg, given):
    """Every field of a board message: the given values, the rest 0 (a test names the
    fields it is about; fields a later spec adds need not break it)."""
    values = {f[0]: 0 for f in schema.FIELDS[codec.MESSAGE_IDS[msg]]}
    values.update(given)
    return values


def wait_until(predicate, what="condition", timeout_s=WAIT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s not met within %.0f s" % (what, timeout_s))
        time.sleep(0.02)


def received(conn):
    """What a socket receives, chunk by chunk, until it closes."""
    while True:
        try:
            data = conn.recv(4096)
        except OSError:
            return
        if not data:
            return
        yield data


class Cable:
    """A socket:// port in front of a device (a bench board's pty): unplug() cuts the
    connection and refuses new ones, as a pulled USB cable makes the port fail and vanish;
    plug() takes connections again. What the board sends meanwhile is lost."""

    def __init__(self, device):
        self._device = serial.serial_for_url(device, timeout=0.01)
        self._lock = threading.Lock()
        self._conn = None
        self._stop = False
        self.port = None
        self.plug()
        self.url = "socket://127.0.0.1:%d" % self.port
        threading.Thread(target=self._from_board, daemon=True).start()

    def plug(self):
        with self._lock:
            self._server = socket.create_server(("127.0.0.1", self.port or 0))
            self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def unplug(self):
        with self._lock:
            # shutdown() first: a socket another thread waits on (accept, recv) is only
            # closed for good, and its peer told, once that wait ends.
            for sock in (self._server, self._conn):
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    sock.close()
            self._conn = None

    def close(self):
        self.unplug()
        self._stop = True
        self._device.close()

    def _accept(self, server):
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                self._conn = conn
            threading.Thread(target=self._to_board, args=(conn,), daemon=True).start()

    def _to_board(self, conn):
        for data in received(conn):
            self._device.write(data)

    def _from_board(self):
        while not self._stop:
            try:
                data = self._device.read(4096)
            except (serial.SerialException, OSError, TypeError):
                return
            with self._lock:
                conn = self._conn
            if data and conn is not None:
                try:
                    conn.sendall(data)
                except OSError:
                    pass


class ForeignBoard:
    """A board on socket:// that answers HELLO as a board built from another spec would
    (schema_hash), or not at all (silent)."""

    def __init__(self, schema_hash=0x12345678, silent=False):
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = "socket://127.0.0.1:%d" % self._server.getsockname()[1]
        self._hello = codec.encode("HELLO", {
            "board_id": "other-spec", "fw_major": 9, "fw_minor": 9, "fw_patch": 9,
            "proto_version": m.VERSION, "schema_hash": schema_hash, "boot_count": 1,
            "reset_cause": "POWER_ON", "vessels": 1, "canisters": 0, "uptime": 1.0}, 0)
        self._silent = silent
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn):
        decoder = codec.StreamDecoder()
        with conn:
            for data in received(conn):
                for frame in decoder.feed(data):
                    if frame.name == "HELLO" and not self._silent:
                        conn.sendall(self._hello)

    def close(self):
        self._server.close()


class LoggerProcess:
    """`pilotedge log ARGS` as a process, started and past its "logging to" line."""

    def __init__(self, *args, env=None, cwd=None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pilotedge.cli", "log", *map(str, args)], env=env, cwd=cwd,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("the logger ended: %s" % self.proc.stderr.read())
            self.lines.append(line)
            if line.startswith("logging to "):
                break

    def stop(self, sig):
        """Send sig; return (exit status, rest of stdout, stderr)."""
        os.kill(self.proc.pid, sig)
        out, err = self.proc.communicate(timeout=WAIT_S)
        return self.proc.returncode, "".join(self.lines) + out, err
