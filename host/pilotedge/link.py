"""A link to one board over any pyserial URL: handshake, heartbeats, commands, parameters.

A reader thread (pilotedge.reader: the link's own, or one a program shares among its links,
as the logger does) hands the link each read; the link decodes it with pilotedge.codec,
answers board heartbeats and hands answers to the callers blocked in hello(), command() and
param_*(). pyserial's threaded Packetizer is not used because it splits packets in a Python
loop; the codec splits a whole read at once, and the link handles its frames as one run.
"""

import collections
import logging
import queue
import secrets
import threading
import time
from typing import NamedTuple

import serial

from pilotproto import messages as m
from pilotproto import schema as s

from . import __version__, codec, ports
from .errors import LinkError
from .reader import Reader

_log = logging.getLogger(__name__)

# At most this much of one port is handled before the reader turns to the next: about 500
# frames, a millisecond or two of the reader's time.
_READ_SIZE = 16384
_LOST_MISSED_S = m.LINK_LOST_MISSED * m.HEARTBEAT_MS / 1000  # in board seconds
# However fast a bench board runs, the link is lost only after this much wall time without
# a heartbeat: a busy host or bench pauses for milliseconds, which at 600x are board seconds.
_LOST_FLOOR_S = 2.0
_RATE_SAMPLES = 8  # heartbeats the board's clock rate is estimated over
_UPTIME_WRAP_MS = 1 << 32
HOST_ID = "pilotedge-host"  # the board_id of the host's HELLO
_CMD_TIMEOUT_S = s.CMD_TIMEOUT_MS / 1000  # the spec's retry policy (protocol/README.md)
_PROGRESS_TIMEOUT_S = s.PROGRESS_TIMEOUT_MS / 1000

OPEN, UP, LOST, REFUSED, CLOSED = "open", "up", "lost", "refused", "closed"
# Board messages that answer a request (see _answer_key).
_ANSWERS = frozenset((m.MSG_ACK, m.MSG_PARAM_VALUE, m.MSG_HELLO))
TIME_EVERY = 600  # board heartbeats between TIME messages: 10 minutes of the board's time


class ParamValue(NamedTuple):
    """A board's PARAM_VALUE: the value in force (engineering units) and how a set went."""

    unit: int
    name: str
    value: float
    result: str  # PARAM_RESULT member: OK, UNKNOWN, OUT_OF_RANGE, READ_ONLY, STORE_FAILED
    index: int
    count: int


def _answer_key(frame):
    """Which pending request a board frame answers, or None."""
    v = frame.values
    if frame.msg_id == m.MSG_ACK:
        return ("ACK", v[s.ACK_CMD_ID])
    if frame.msg_id == m.MSG_PARAM_VALUE:
        return ("PARAM", v[s.PARAM_VALUE_UNIT], v[s.PARAM_VALUE_NAME].split(b"\x00")[0])
    if frame.msg_id == m.MSG_HELLO:
        return ("HELLO",)
    return None


def _in_progress(frame):
    return frame.msg_id == m.MSG_ACK and frame.values[s.ACK_RESULT] == m.RESULT_IN_PROGRESS


class BoardClock:
    """How fast a board's clock runs against the host's, from the uptimes its heartbeats
    carry: 1.0 for a board on a cable, 600 for a bench board at 600x.

    The host times the link in heartbeat periods of the board's own clock, so a bench board
    at any speed is neither declared lost while it talks nor waited for for hours after it
    went quiet.
    """

    def __init__(self):
        self._samples = collections.deque(maxlen=_RATE_SAMPLES)  # (host s, board uptime ms)

    def restart(self):
        """A new boot: its uptime starts again."""
        self._samples.clear()

    def heartbeat(self, host_s, uptime_ms):
        if self._samples:
            _t, last_ms = self._samples[-1]
            if (uptime_ms - last_ms) % _UPTIME_WRAP_MS > _UPTIME_WRAP_MS // 2:
                self._samples.clear()  # the uptime went back: a reboot whose HELLO was lost
        self._samples.append((host_s, uptime_ms))

    @property
    def rate(self):
        """Board seconds per host second (1.0 until two heartbeats tell otherwise)."""
        if len(self._samples) < 2:
            return 1.0
        (t0, u0), (t1, u1) = self._samples[0], self._samples[-1]
        board_s = (u1 - u0) % _UPTIME_WRAP_MS / 1000
        if board_s <= 0:
            return 1.0  # no board time passed yet (a HELLO and the first heartbeat)
        return board_s / (t1 - t0) if t1 > t0 else float("inf")

    def uptime_s(self, host_s):
        """The board's uptime (s) at host time host_s, from its last heartbeat and its rate
        (at most two heartbeat periods past it), or None before the first."""
        if not self._samples:
            return None
        t, u = self._samples[-1]
        ahead_s = 0.0 if host_s <= t else min((host_s - t) * self.rate,
                                                 2 * m.HEARTBEAT_MS / 1000)
        return round((u / 1000 + ahead_s) % (_UPTIME_WRAP_MS / 1000), 3)

    def lost_after_s(self):
        """Host seconds without a heartbeat after which the link is lost: LINK_LOST_MISSED
        board heartbeat periods, but never less than _LOST_FLOOR_S."""
        return max(_LOST_FLOOR_S, _LOST_MISSED_S / self.rate)


class Link:
    """A board at `url` (a port name or a pyserial URL such as socket://host:port or loop://).

    `clock` (seconds, monotonic) measures heartbeat liveness and is injectable so tests need
    not sleep; waits for answers use real time. `reader`: a pilotedge.reader.Reader shared
    with other links (default: a thread of the link's own). Callbacks (on_state(old, new),
    subscribe, subscribe_batches) run on the reader thread and must not block: that thread
    also delivers the answers the blocking calls wait for, and reads the reader's other links.
    """

    def __init__(self, url, baudrate=115200, clock=time.monotonic, on_state=None, reader=None):
        self._port = ports.open_port(url, baudrate)
        self.url = url
        self.board = None  # fields of the board's HELLO once the handshake succeeded
        self.board_clock = BoardClock()
        self.closed_reason = None  # why the port failed, once it did (an unplugged cable)
        self.refusal = None  # why the host refuses the board (another spec), once it does
        self.board_rx_errors = None  # the board's count of bad frames from us (HEARTBEAT)
        self.rx_lost = 0  # board frames lost on the way, from sequence gaps
        self.tx_frames = 0
        self.link_losses = 0
        self._clock = clock
        self._on_state = on_state
        self._started = clock()
        self._decoder = codec.StreamDecoder()
        self._cv = threading.Condition(threading.RLock())
        self._tx_lock = threading.Lock()
        self._answers = {}  # pending request key -> latest answer frame (None until one)
        self._subscribers = ()
        self._batch_subscribers = ()
        self._state = OPEN
        self._echoes = False
        self._beats = 0  # board heartbeats since the last TIME
        self._last_heartbeat = None
        self._rx_seq = None
        self._tx_seq = 0
        # Random start: a new session never reuses an id still in a board's dedup cache.
        self._cmd_id = secrets.randbits(32)
        self._own_reader = reader is None
        self._reader = Reader("pilotedge-link") if reader is None else reader
        self._reader.add(self, self._port)

    # -- public API ------------------------------------------------------------------------

    @property
    def state(self):
        """open (no handshake yet), up, lost (heartbeats missed), refused or closed."""
        self._check_liveness()
        return self._state

    def hello(self, timeout=1.0, retries=2):
        """Handshake: send our HELLO, return the board's HELLO fields.

        Raises LinkError naming both sides' protocol versions and schema hashes when the
        board was built from another spec; the link then refuses all further traffic.
        """
        fw = [int(part) for part in __version__.split(".")[:3]]
        fields = {
            "board_id": HOST_ID,
            "fw_major": fw[0],
            "fw_minor": fw[1],
            "fw_patch": fw[2],
            "proto_version": m.VERSION,
            "schema_hash": m.SCHEMA_HASH,
            "boot_count": 0,
            "reset_cause": "UNKNOWN",
            "uptime": self._uptime_s(),
        }
        fields.update((section, 0) for _kind, section, _at in m.UNIT_KINDS)  # a host has none
        try:
            self._request(("HELLO",), "HELLO", fields, timeout, retries, "HELLO")
        except LinkError as exc:
            if self._state in (REFUSED, CLOSED):
                raise
            if self._echoes:
                raise LinkError("no board answering on %s: it sends back what the host sends "
                                "(a loopback, or TX wired to RX)" % self.url) from None
            raise LinkError("no board answering on %s: %s (is the board powered and running "
                            "the pilotedge firmware, at %d baud?)"
                            % (self.url, exc, self._port.baudrate)) from None
        self._require_talking()
        self._send_heartbeat()  # the board's link is up now, not at its next heartbeat
        self.send_time()
        return self.board

    def send_time(self, unix_s=None):
        """Tell the board the host's wall time (it has no clock of its own): at the
        handshake and every TIME_EVERY board heartbeats; its calibration records carry it."""
        self._beats = 0
        self._send("TIME", {"unix": int(time.time() if unix_s is None else unix_s)})

    def command(
        self,
        unit,
        verb,
        arg0=0,
        arg1=0,
        timeout=_CMD_TIMEOUT_S,
        retries=s.CMD_RETRIES,
        progress_timeout=_PROGRESS_TIMEOUT_S,
        on_progress=None,
    ):
        """Run a COMMAND; return its final ACK frame (ACCEPTED, DONE, REJECTED or FAILED).

        Arguments are numbers or, where the spec gives one an enum, member names; one outside
        the verb's range raises codec.EncodeError before anything is sent. Each resend
        carries the same cmd_id, so a board that ran the command but lost its ACK answers
        from its memory and never runs it twice: that is what makes resending a DOSE safe.
        After IN_PROGRESS the board has the command, so there are no more resends, only a
        longer wait (progress_timeout, restarted by every IN_PROGRESS). The board remembers
        a cmd_id for twice the whole retry window of the spec's defaults (protocol/README.md):
        longer timeouts or more retries than those void that promise.
        """
        arg0, arg1 = codec.command_args(verb, arg0, arg1)
        with self._cv:
            cmd_id = self._cmd_id
            self._cmd_id = (cmd_id + 1) & 0xFFFFFFFF
        fields = {"cmd_id": cmd_id, "unit": unit, "verb": verb, "arg0": arg0, "arg1": arg1}
        what = "%s to unit %s (cmd_id 0x%08X)" % (verb, unit, cmd_id)
        return self._request(
            ("ACK", cmd_id), "COMMAND", fields, timeout, retries, what, progress_timeout,
            on_progress,
        )

    def param_get(self, unit, name, timeout=_CMD_TIMEOUT_S, retries=s.CMD_RETRIES):
        """Read a parameter; return a ParamValue."""
        codec.param(name)
        fields = {"unit": unit, "name": name, "index": 0}
        return self._param(unit, name, "PARAM_GET", fields, timeout, retries)

    def param_set(self, unit, name, value, timeout=_CMD_TIMEOUT_S, retries=s.CMD_RETRIES):
        """Write a parameter (a number in its unit, or a string such as "300 kPa").

        Returns the ParamValue the board echoes: the value now in force, which is the old one
        when the board refused the set (see .result). Setting is idempotent, so it is resent.
        """
        if isinstance(value, str):
            from . import units  # pint takes a third of a second to import: only when needed

            value = units.parse(value, units.param_unit(name))
        fields = {"unit": unit, "name": name, "value": codec.param_to_raw(name, value)}
        return self._param(unit, name, "PARAM_SET", fields, timeout, retries)

    def board_uptime_s(self):
        """The board's uptime now (s), estimated from its heartbeats; None before any."""
        return self.board_clock.uptime_s(self._clock())

    def subscribe(self, callback, *names):
        """Call callback(frame) for each frame of the named messages (all when none), as
        the link handles a read; it notes the read's heartbeats once it has handled them all.

        Returns a function that ends the subscription.
        """
        return self._add_subscriber("_subscribers", (frozenset(n.upper() for n in names),
                                                      callback))

    def subscribe_batches(self, callback):
        """Call callback(frames) with the frames of each read, a list in arrival order (all
        messages): one call per read, not per frame, for a consumer of everything (the
        logger). A board HELLO always starts a new list, so no list spans two boots. The
        link notes a list's heartbeats after the call, so board_uptime_s() in it is the
        board's time when the list arrived, as known before it.

        Returns a function that ends the subscription.
        """
        return self._add_subscriber("_batch_subscribers", callback)

    def _add_subscriber(self, which, entry):
        with self._cv:
            setattr(self, which, getattr(self, which) + (entry,))

        def cancel():
            with self._cv:
                setattr(self, which, tuple(e for e in getattr(self, which) if e is not entry))

        return cancel

    def listen(self, *names, maxsize=1000):
        """A queue.Queue of frames of the named messages; when full the oldest is dropped."""
        frames = queue.Queue(maxsize)

        def put(frame):
            while True:
                try:
                    frames.put_nowait(frame)
                    return
                except queue.Full:
                    try:
                        frames.get_nowait()
                    except queue.Empty:
                        pass

        self.subscribe(put, *names)
        return frames

    def write_raw(self, data):
        """Write bytes to the board as they are, framed or not: for tests of how the board
        treats damaged or foreign input. Frames sent this way are not answered to anyone."""
        with self._tx_lock:
            self._write(data)

    def counters(self):
        """Frames each way, receive errors by kind, and frames lost (sequence gaps)."""
        return {
            "rx_frames": self._decoder.frames,
            "tx_frames": self.tx_frames,
            "rx_lost": self.rx_lost,
            "errors": dict(self._decoder.errors),
            "board_rx_errors": self.board_rx_errors,
            "link_losses": self.link_losses,
        }

    def close(self):
        self._reader.remove(self)  # waits for a read of this link under way
        if self._own_reader:
            self._reader.close()
        self._port.close()
        self._set_state(CLOSED)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- requests --------------------------------------------------------------------------

    def _param(self, unit, name, msg, fields, timeout, retries):
        key = ("PARAM", unit, name.encode())
        frame = self._request(key, msg, fields, timeout, retries, "%s %s" % (msg, name))
        f = frame.fields()
        value = codec.param_from_raw(name, f["value"])
        return ParamValue(f["unit"], f["name"], value, f["result"], f["index"], f["count"])

    def _request(self, key, msg, fields, timeout, retries, what, progress_timeout=None,
                 on_progress=None):
        """Send msg, resending it on timeout, until the answer filed under key is final."""
        self._require_talking()
        with self._cv:
            self._answers[key] = None
        try:
            last = None
            tries = 0
            while True:
                if last is None:
                    if tries > retries:
                        raise LinkError(
                            "no answer to %s from %s after %d tries, %.1f s each"
                            % (what, self.url, tries, timeout)
                        )
                    self._send(msg, fields)
                    tries += 1
                wait_s = timeout if last is None else progress_timeout
                answer = self._wait_answer(key, last, wait_s)
                if answer is None:
                    if last is not None:
                        raise LinkError("%s: in progress, no news for %.1f s" % (what, wait_s))
                elif _in_progress(answer):
                    last = answer
                    if on_progress is not None:
                        on_progress(answer)
                else:
                    return answer
        finally:
            with self._cv:
                del self._answers[key]

    def _wait_answer(self, key, last, timeout_s):
        """The newest answer under key other than `last`, or None after timeout_s."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while True:
                answer = self._answers[key]
                if answer is not None and answer is not last:
                    return answer
                self._require_talking()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cv.wait(remaining)

    def _require_talking(self):
        if self._state == REFUSED:
            raise LinkError(self.refusal)
        if self._state == CLOSED:
            raise LinkError("the link to %s is closed%s"
                            % (self.url, ": " + self.closed_reason if self.closed_reason else ""))

    def _send(self, msg, fields):
        with self._tx_lock:
            self._write(codec.encode(msg, fields, self._tx_seq))
            self._tx_seq = (self._tx_seq + 1) & 0xFF
            self.tx_frames += 1

    def _write(self, data):
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise LinkError("cannot write to %s: %s" % (self.url, exc))

    # -- reader thread ---------------------------------------------------------------------

    def _read(self):
        """Read what has arrived, without waiting, and handle it; False when the port failed,
        which closes the link (an unplugged cable, a peer gone)."""
        try:
            data = self._port.read(_READ_SIZE)
            if data:
                self._on_frames(self._decoder.feed(data))
                if self._decoder.foreign_version is not None:
                    self._refuse_version()
            return True
        except (serial.SerialException, OSError, LinkError) as exc:
            self.closed_reason = str(exc) or type(exc).__name__
            _log.warning("link to %s closed: %s", self.url, self.closed_reason)
        except Exception:  # a bug: callers must not wait in vain
            _log.exception("link to %s failed", self.url)
            self.closed_reason = "internal error (see the log)"
        self._set_state(CLOSED)
        return False

    def _on_frames(self, frames):
        """One read's frames, in order, as one run (split at a board HELLO): per-frame
        subscribers as each comes; then, at the run's end, batch subscribers, its last
        heartbeat and the answers it holds. One heartbeat answer per run is enough: a run
        holds more than one only when the host fell behind, and all the board needs is to
        hear from the host. Answers go last, so whoever waits for one finds that subscribers
        have seen it."""
        run, heartbeat, answers = [], None, []
        seq = self._rx_seq
        refused = self._state == REFUSED
        subscribers = self._subscribers
        for frame in frames:
            msg_id, frame_seq, _flags, _values = frame
            if msg_id == m.MSG_HELLO:
                self._rx_seq = seq
                self._end_run(run, heartbeat, answers)
                run, heartbeat, answers = [], None, []
                if not self._on_hello(frame):
                    continue
                refused = self._state == REFUSED
            elif seq is not None and (frame_seq - seq - 1) & 0xFF:
                self.rx_lost += (frame_seq - seq - 1) & 0xFF
            seq = frame_seq
            if refused:
                continue
            run.append(frame)
            if msg_id == m.MSG_HEARTBEAT:
                heartbeat = frame
            elif msg_id in _ANSWERS:
                answers.append(frame)
            if subscribers:
                self._deliver(subscribers, frame)
        self._rx_seq = seq
        self._end_run(run, heartbeat, answers)

    def _deliver(self, subscribers, frame):
        name = frame.name
        for names, callback in subscribers:
            if not names or name in names:
                try:
                    callback(frame)
                except Exception:
                    _log.exception("subscriber %r failed on %s", callback, name)

    def _end_run(self, run, heartbeat, answers):
        if run:
            for callback in self._batch_subscribers:
                try:
                    callback(run)
                except Exception:
                    _log.exception("subscriber %r failed on %d frames", callback, len(run))
        if heartbeat is not None:
            self._on_heartbeat(heartbeat)
        for frame in answers:
            key = _answer_key(frame)
            with self._cv:
                if key in self._answers:
                    self._answers[key] = frame
                    self._cv.notify_all()

    def _on_hello(self, frame):
        """A board HELLO (answer or reboot) starts a new sequence and is checked for its spec;
        False for the host's own HELLO coming back (a loopback), which is no board's."""
        f = frame.fields()
        if f["board_id"] == HOST_ID:
            self._echoes = True
            return False
        if f["proto_version"] != m.VERSION or f["schema_hash"] != m.SCHEMA_HASH:
            self._refuse(
                "board %r (firmware %d.%d.%d) speaks protocol %d, schema 0x%08X; this host "
                "(pilotedge %s) speaks protocol %d, schema 0x%08X: build both from the same "
                "protocol/spec/messages.toml"
                % (
                    f["board_id"],
                    f["fw_major"],
                    f["fw_minor"],
                    f["fw_patch"],
                    f["proto_version"],
                    f["schema_hash"],
                    __version__,
                    m.VERSION,
                    m.SCHEMA_HASH,
                )
            )
            return True
        with self._cv:
            self.board = f
            self._last_heartbeat = self._clock()
            self.board_clock.restart()
            self.board_clock.heartbeat(self._last_heartbeat, frame.values[s.HELLO_UPTIME])
            if self._state in (OPEN, LOST):
                self._set_state(UP)
        return True

    def _refuse_version(self):
        self._refuse(
            "board at %s frames with protocol version %d; this host (pilotedge %s) speaks "
            "protocol %d, schema 0x%08X: build both from the same protocol/spec/messages.toml"
            % (self.url, self._decoder.foreign_version, __version__, m.VERSION, m.SCHEMA_HASH)
        )

    def _refuse(self, why):
        with self._cv:
            if self._state != REFUSED:
                self.refusal = why
                _log.error("%s", why)
                self._set_state(REFUSED)

    def _on_heartbeat(self, frame):
        """Note the board is alive and echo a heartbeat, so the board times us in its time."""
        with self._cv:
            self._last_heartbeat = self._clock()
            self.board_clock.heartbeat(self._last_heartbeat, frame.values[s.HEARTBEAT_UPTIME])
            self.board_rx_errors = frame.values[s.HEARTBEAT_RX_ERRORS]
            if self._state == LOST:
                self._set_state(UP)
        self._send_heartbeat()
        self._beats += 1
        if self._beats >= TIME_EVERY:
            self.send_time()

    def _send_heartbeat(self):
        rx_errors = sum(self._decoder.errors.values()) + self.rx_lost
        self._send(
            "HEARTBEAT",
            {
                "uptime": self._uptime_s(),
                "state": "RUN",
                "faults": 0,
                "overruns": 0,
                "cycle_max": 0,
                "heap_free": 0,
                "rx_errors": rx_errors & 0xFFFF,  # counters wrap (protocol/README.md)
            },
        )

    def _check_liveness(self):
        with self._cv:
            if self._state == UP and (self._clock() - self._last_heartbeat
                                      > self.board_clock.lost_after_s()):
                self.link_losses += 1
                self._set_state(LOST)

    def _set_state(self, new):
        with self._cv:
            old = self._state
            if old == new:
                return
            self._state = new
            self._cv.notify_all()  # a waiter on a refused or closed link must stop waiting
        if self._on_state is not None:
            try:
                self._on_state(old, new)
            except Exception:  # as a subscriber's: the link (and the reader) go on
                _log.exception("on_state %r failed on %s -> %s", self._on_state, old, new)

    def _uptime_s(self):
        return int((self._clock() - self._started) * 1000) % _UPTIME_WRAP_MS / 1000
