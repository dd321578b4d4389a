"""The logger: boards on serial ports, every frame they send into the log, and the one way
to command them while it runs.

    from pilotedge.logger import Logger

    logger = Logger(["/dev/ttyUSB0", "socket://10.0.0.5:4000"], "line3.sqlite")
    logger.start()        # LinkError when a port cannot be opened or no board answers on it
    ...                   # logger.status(), logger.board("sim").link.command(...)
    logger.stop()

A serial port is exclusive, so the logger owns its ports and serves commands for them on a
local control endpoint (pilotedge.control), as MAVProxy does for its autopilot. One reader
thread (pilotedge.reader) reads every port and hands the log each read's frames at once.
Each port has a supervisor thread: when the port fails (a USB cable pulled) it records a gap
and reopens the port with backoff until the board answers again; a board that reboots sends
a HELLO and gets a new boot. One writer thread owns the log file and commits every half
second, so a crash loses at most that half second and Ctrl-C or SIGTERM (stop()) loses
nothing.
"""

import functools
import logging
import queue
import threading
import time

from pilotproto import messages as m
from pilotproto import schema as s

from . import boardinfo, codec, link, ports
from .errors import LinkError, LogError, UsageError
from .logdb import LogDB, Source
from .reader import Reader

_log = logging.getLogger(__name__)

COMMIT_S = 0.5  # the most a crash of the logger can lose
_BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0, 5.0)  # waits between reconnects, the last repeated
_REFUSED_RETRY_S = 10.0  # a refused board may have been reflashed: shake hands again after
_HELLO_TIMEOUT_S = 1.0
_HELLO_RETRIES = 2
# Telemetry message of each unit kind -> where its `unit` field is.
_UNIT_MSGS = {i: [f[0] for f in s.FIELDS[i]].index("unit") for i in (
    codec.message_id(boardinfo.telemetry_message(kind)) for kind, _s, _a in m.UNIT_KINDS)}
_STOP = object()

# Port states, as status() reports them.
CONNECTING, UP, SILENT, UNPLUGGED, REFUSED = "connecting", "up", "silent", "unplugged", "refused"


class BoardPort:
    """One port of the logger and the board on it. For readers: name (the logger's name for
    the board), url, hello (its HELLO fields), units, state, detail (why it is not up) and
    since (host time of the last state change)."""

    def __init__(self, logger, url, name=None):
        self._logger = logger
        self.url = url
        self.wanted_name = name
        self.name = None
        self.hello = None
        self.units = []
        self.state = CONNECTING
        self.detail = None
        self.since = time.time()
        self.link = None
        self.src = Source(url)  # the writer thread's record of this port
        self.latest = {}  # unit number -> (host time, Frame) of its latest telemetry
        self.health = None  # (host time, Frame) of the latest HEARTBEAT
        self._wake = threading.Event()
        self._rehello = False
        self._last_uptime = None
        self._thread = None

    def connect(self):
        """Open the port and shake hands; LinkError when either fails."""
        new = link.Link(self.url, on_state=lambda old, new: self._wake.set(),
                        reader=self._logger._reader)
        try:
            new.subscribe_batches(functools.partial(self._on_frames, new))
            new.hello(_HELLO_TIMEOUT_S, _HELLO_RETRIES)
        except BaseException as exc:
            new.close()
            if new.refusal:
                self._set(REFUSED, new.refusal)
            elif self.state != CONNECTING:
                self._set(UNPLUGGED, str(exc))
            raise
        self.link = new
        self._set(UP)

    def unit_name(self, number):
        """The name of the board's unit `number` (its number as text if unknown)."""
        for unit in self.units:
            if unit.number == number:
                return unit.name
        return str(number)

    def require_up(self):
        """The link, if the board is talking; else LinkError saying since when it is not."""
        if self.state != UP or self.link is None:
            raise LinkError("board %s on %s is not reachable: %s since %s%s" % (
                self.name or "?", self.url, self.state, time.strftime(
                    "%H:%M:%S", time.localtime(self.since)),
                " (%s)" % self.detail if self.detail else ""))
        return self.link

    def _set(self, state, detail=None):
        if state != self.state:
            self.since = time.time()
            self._logger._note(self, state + (": " + detail if detail else ""))
        self.state, self.detail = state, detail

    # -- reader thread -----------------------------------------------------------------------

    def _on_frames(self, source_link, frames):
        """A read's frames (a HELLO only ever first): into the log in one hand-over."""
        now = time.time()
        logger = self._logger
        if frames[0].msg_id == m.MSG_HELLO:
            f = frames[0].fields()
            self.hello = f
            self.units = boardinfo.units_of(f)
            self.name = logger._name_for(self, f["board_id"])
            self._last_uptime = None
            logger._write(logger.db.hello, self.src, f, self.name, now)
        self._note_latest(frames, now)
        logger._write(logger.db.arrived, self.src, frames, now, source_link.board_uptime_s())
        if logger.events is not None:
            for frame in frames:
                logger.events.put(("frame", self, frame))

    def _note_latest(self, frames, now):
        """Keep each unit's newest telemetry and the newest heartbeat (for status()), looking
        back from the newest frame only until all are found; a heartbeat uptime that went
        back means the board restarted and its HELLO got lost."""
        wanted = {unit.number for unit in self.units}
        seen = set()
        heartbeat = None
        for frame in reversed(frames):
            msg_id = frame.msg_id
            if msg_id in _UNIT_MSGS:
                unit = frame.values[_UNIT_MSGS[msg_id]]
                if unit not in seen:
                    seen.add(unit)
                    self.latest[unit] = (now, frame)
            elif msg_id == m.MSG_HEARTBEAT and heartbeat is None:
                heartbeat = frame
            if heartbeat is not None and wanted <= seen:
                break
        if heartbeat is None:
            return
        self.health = (now, heartbeat)
        uptime = heartbeat.values[s.HEARTBEAT_UPTIME]
        if self._last_uptime is not None and 0 < self._last_uptime - uptime < 1 << 31:
            self._rehello = True
            self._wake.set()
        self._last_uptime = uptime

    # -- supervisor thread -------------------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(target=self._supervise, daemon=True,
                                        name="pilotedge-port " + self.url)
        self._thread.start()

    def _supervise(self):
        stopping = self._logger._stopping
        tries = 0
        while not stopping.is_set():
            current = self.link
            if current is None:
                try:
                    self.connect()
                    tries = 0
                    self._logger._write(self._logger.db.gap_end, self.src, time.time())
                except LinkError:
                    stopping.wait(_BACKOFF_S[min(tries, len(_BACKOFF_S) - 1)])
                    tries += 1
                continue
            state = current.state
            if state == link.CLOSED:
                self.link = None
                current.close()
                why = current.closed_reason or "the port closed"
                self._gap("unplugged", why)
                self._set(UNPLUGGED, why)
                continue
            if state == link.REFUSED:
                self._set(REFUSED, current.refusal)
                if time.time() - self.since > _REFUSED_RETRY_S:
                    self.link = None
                    current.close()
                    continue
            elif state == link.LOST:
                self._gap("silent", "no heartbeat for %.1f s"
                          % current.board_clock.lost_after_s())
                self._set(SILENT, "no heartbeat from the board")
            elif state == link.UP:
                if self.state != UP:
                    self._logger._write(self._logger.db.gap_end, self.src, time.time())
                    self._rehello = True  # it may have rebooted while silent
                    self._set(UP)
                if self._rehello:
                    self._rehello = False
                    try:
                        current.hello(_HELLO_TIMEOUT_S, _HELLO_RETRIES)
                    except LinkError:
                        pass  # the port's own state says what happened next
            self._wake.wait(1.0)
            self._wake.clear()

    def _gap(self, kind, detail):
        self._logger._write(self._logger.db.gap_start, self.src, kind, time.time(), detail)

    def stop(self):
        """End the supervisor; the port stays open."""
        if self._thread is not None:
            self._wake.set()
            self._thread.join()

    def close(self):
        self.stop()
        if self.link is not None:
            self.link.close()
            self.link = None


class Logger:
    """Boards on `urls` (device paths, pyserial URLs, `auto`) logged into the file `db`.

    names: {url: name} to call a board something else than its HELLO id. create_folder:
    create the log's folder if missing (default paths) rather than refuse (typed paths).
    control: serve the local control endpoint. listen: put ("frame", port, Frame) and
    ("note", port, text) on `events` for a live view.
    """

    def __init__(self, urls, db, names=None, create_folder=False, control=True, listen=False,
                 command=None):
        self.urls = ports.expand(urls)
        self.db_path = db
        self.names = dict(names or {})
        self.ports = []
        self.db = None
        self.control = None
        self.events = queue.Queue() if listen else None
        self.failure = None  # why the log stopped being written, if it did
        self._create_folder = create_folder
        self._control = control
        self._command = command
        self._queue = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._names_lock = threading.Lock()
        self._reader = None
        self._writer = None

    def start(self):
        """Open the log, every port and the control endpoint; LinkError or LogError (and
        nothing left running) when any of them fails."""
        self.db = LogDB(self.db_path, self._create_folder, self._command)
        self._reader = Reader()
        self._writer = threading.Thread(target=self._write_loop, name="pilotedge-log",
                                        daemon=True)
        self._writer.start()
        try:
            for url in self.urls:
                port = BoardPort(self, url, self.names.get(url))
                self.ports.append(port)
                port.connect()
            for port in self.ports:
                port.start()
            if self._control:
                from .control import ControlServer

                self.control = ControlServer(self)
        except BaseException:
            self.stop("failed to start")
            raise
        return self

    def stop(self, reason="stopped"):
        """Stop reading, commit everything read, close the log, then the ports and the
        endpoint. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self.control is not None:
            self.control.close()
        for port in self.ports:
            port.stop()
        if self._reader is not None:
            self._reader.close()  # no more frames (a read under way is handed over first)
        if self._writer is not None:
            self._queue.put((_STOP, reason))
            self._writer.join()
        # All at once: pyserial pauses 0.3 s closing a socket:// port (for a quick reconnect).
        closing = [threading.Thread(target=port.close) for port in self.ports]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- for commands ----------------------------------------------------------------------

    def board(self, text):
        """The port of a board by its name, its HELLO id (when only one board has it) or its
        port; UsageError listing the boards."""
        for port in self.ports:
            if text in (port.name, port.url):
                return port
        same_id = [p for p in self.ports if p.hello and p.hello["board_id"] == text]
        if len(same_id) == 1:
            return same_id[0]
        raise UsageError("no board %r on this logger (boards: %s)" % (text, ", ".join(
            "%s on %s" % (p.name or "?", p.url) for p in self.ports) or "none"))

    def write(self, method, *args):
        """Run a LogDB method (audit, batch, ...) on the writer thread, in order with the
        frames."""
        self._write(getattr(self.db, method), *args)

    def status(self):
        """Every port and the board on it, as plain data (pilotedge.ops formats it)."""
        return [_port_status(p) for p in self.ports]

    # -- inside ----------------------------------------------------------------------------

    def _name_for(self, port, board_id):
        with self._names_lock:
            if port.wanted_name:
                return port.wanted_name
            taken = {p.name for p in self.ports if p is not port}
            if port.name and port.name.split("-")[0] == board_id and port.name not in taken:
                return port.name
            name, n = board_id, 1
            while name in taken:
                n += 1
                name = "%s-%d" % (board_id, n)
            return name

    def _note(self, port, text):
        _log.info("%s on %s: %s", port.name, port.url, text)
        if self.events is not None:
            self.events.put(("note", port, text))

    def _write(self, fn, *args):
        self._queue.put((fn, args))

    def _write_loop(self):
        db = self.db
        reason = "stopped"
        while True:
            try:
                fn, args = self._queue.get(timeout=COMMIT_S)
            except queue.Empty:
                fn = None
            try:
                if fn is _STOP:
                    reason = args
                    break
                if fn is not None:
                    fn(*args)
                if db.flush_due(COMMIT_S):
                    db.flush()
            except Exception as exc:  # the disk is full, the file went away: stop loudly
                self.failure = LogError("cannot write the log %s: %s" % (self.db_path, exc))
                _log.exception("log writer failed")
                self._stopping.set()
                reason = "failed: %s" % exc
                break
        try:
            db.close(reason)
        except Exception as exc:
            self.failure = self.failure or LogError("cannot close the log %s: %s"
                                                    % (self.db_path, exc))


def _port_status(port):
    hello = port.hello or {}
    out = {
        "board": port.name, "port": port.url, "state": port.state, "detail": port.detail,
        "since": port.since, "board_id": hello.get("board_id"),
        "firmware": "%d.%d.%d" % (hello["fw_major"], hello["fw_minor"], hello["fw_patch"])
        if hello else None,
        "boot_count": hello.get("boot_count"), "reset_cause": hello.get("reset_cause"),
        "units": [],
    }
    current = port.link
    if current is not None:
        out["uptime_s"] = current.board_uptime_s()
        out["speed"] = round(current.board_clock.rate, 2)
        out["counters"] = current.counters()
    if port.health is not None:
        t, frame = port.health
        out["health"] = dict(frame.fields(), host_time=t)
    for unit in port.units:
        entry = {"unit": unit.name, "number": unit.number, "kind": unit.kind}
        latest = port.latest.get(unit.number)
        if latest is not None:
            t, frame = latest
            entry["host_time"] = t
            entry["msg"] = frame.name
            entry["fields"] = boardinfo.valid_readings(frame.name, frame.fields())
        out["units"].append(entry)
    return out
