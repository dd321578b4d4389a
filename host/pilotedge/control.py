"""A running logger's control endpoint: commands reach the boards whose ports it owns.

The endpoint is a Unix socket in a private folder (mode 0700, so only the logger's own OS
user can connect; the kernel tells the logger who did, for the audit trail). It speaks JSON
lines: a client sends one request (pilotedge.ops), the logger answers with zero or more
{"progress": text} lines and one {"ok": true, "outcome": {...}} or {"ok": false, "error":
text, "kind": error class}. A state file announces it, next to the log
(<log>.logger.json) and in the user's runtime folder, where commands look for loggers:

    {"pid": 4242, "socket": "/tmp/pilotedge-x1y2/control.sock", "db": "/home/tech/line3.sqlite",
     "ports": ["/dev/ttyUSB0"], "started": 1760000000.0, "version": "0.1.0"}
"""

import json
import os
import pwd
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path

from . import __version__, errors, ops
from .errors import LinkError, PilotedgeError
from .logdb import alive

_CLIENT_TIMEOUT_S = 120.0  # a dose can run for minutes, reported at least every 10 s


def runtime_dir():
    """Where running loggers announce themselves: $PILOTEDGE_RUNTIME_DIR, else
    $XDG_RUNTIME_DIR/pilotedge, else pilotedge-<uid> in the temporary folder."""
    named = os.environ.get("PILOTEDGE_RUNTIME_DIR")
    if named:
        return Path(named)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "pilotedge"
    return Path(tempfile.gettempdir()) / ("pilotedge-%d" % os.getuid())


def state_file(db):
    """The state file next to a log."""
    return Path(str(Path(db).absolute()) + ".logger.json")


class ControlServer:
    """Serves a Logger's boards on a Unix socket until close()."""

    def __init__(self, logger):
        self._logger = logger
        self._folder = Path(tempfile.mkdtemp(prefix="pilotedge-"))
        self.path = str(self._folder / "control.sock")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(8)
        self._closing = False
        state = {"pid": os.getpid(), "socket": self.path,
                 "db": str(Path(logger.db_path).absolute()), "ports": logger.urls,
                 "started": time.time(), "version": __version__}
        self._state_files = [state_file(logger.db_path),
                             runtime_dir() / ("logger-%d.json" % os.getpid())]
        for path in self._state_files:
            _write_atomically(path, json.dumps(state))
        self._thread = threading.Thread(target=self._accept, daemon=True,
                                        name="pilotedge-control")
        self._thread.start()

    def close(self):
        self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join()
        for path in self._state_files:
            path.unlink(missing_ok=True)
        Path(self.path).unlink(missing_ok=True)
        self._folder.rmdir()

    def _accept(self):
        while not self._closing:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name="pilotedge-control-client").start()

    def _serve(self, conn):
        with conn, conn.makefile("rwb") as stream:
            user = _peer_user(conn)

            def send(obj):
                stream.write(json.dumps(obj).encode() + b"\n")
                stream.flush()

            try:
                for line in stream:
                    try:
                        outcome = ops.execute(self._logger, json.loads(line),
                                              lambda text: send({"progress": text}), user)
                        send({"ok": True, "outcome": outcome})
                    except PilotedgeError as exc:
                        send({"ok": False, "error": str(exc), "kind": type(exc).__name__})
                    except ValueError as exc:  # not JSON
                        send({"ok": False, "error": "bad request: %s" % exc,
                              "kind": "UsageError"})
            except OSError:
                pass  # the client left


def _peer_user(conn):
    """The OS user of the process at the other end of a Unix socket (Linux), or None."""
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return pwd.getpwuid(struct.unpack("3i", creds)[1]).pw_name
    except (AttributeError, OSError, KeyError):
        return None


def _write_atomically(path, text):
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def loggers(db=None):
    """State of every running logger (of the log `db` only, when given); stale state files
    of loggers that were killed are removed."""
    paths = [state_file(db)] if db else sorted(runtime_dir().glob("logger-*.json"))
    out = []
    for path in paths:
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if alive(state["pid"]) and Path(state["socket"]).exists():
            out.append(state)
        else:
            path.unlink(missing_ok=True)
    return out


def call(state, request, on_progress=None):
    """Send one request to a running logger; return its outcome, or raise the error the
    logger raised (as the same pilotedge error class)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(_CLIENT_TIMEOUT_S)
    try:
        sock.connect(state["socket"])
        with sock, sock.makefile("rwb") as stream:
            stream.write(json.dumps(request).encode() + b"\n")
            stream.flush()
            for line in stream:
                reply = json.loads(line)
                if "progress" in reply:
                    if on_progress is not None:
                        on_progress(reply["progress"])
                    continue
                if reply["ok"]:
                    return reply["outcome"]
                cls = getattr(errors, reply.get("kind", ""), None)
                if not (isinstance(cls, type) and issubclass(cls, PilotedgeError)):
                    cls = PilotedgeError
                raise cls(reply["error"])
    except OSError as exc:
        raise LinkError("the logger (pid %d, log %s) did not answer: %s"
                        % (state["pid"], state["db"], exc)) from None
    raise LinkError("the logger (pid %d, log %s) closed the connection without an answer"
                    % (state["pid"], state["db"]))
