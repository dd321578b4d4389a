"""Pty endpoints of a simulated board and the relay between them and its process.

Inside the Unix port a blocking read of a pty waits until the whole buffer fills, while a
non-blocking loopback socket returns what has arrived; pytest-embedded-serial and mpremote,
on the other hand, want a device path. So the board process talks TCP to the host, and one
relay thread per board copies bytes between each socket and the master side of a pty whose
slave path users open like a USB serial port. The ptys outlive the process: a reset closes
the sockets, the paths stay, as a USB-serial adapter's port stays when its board resets.

The relay is also where the serial line is made noisy (seeded bit flips, dropped and
inserted bytes), where a scenario's set points and operator commands are sent until the
board answers, and where tests can tap the clean byte stream the board sent.
"""

import errno
import logging
import os
import random
import select
import selectors
import socket
import threading
import time
import tty

from pilotproto import messages as m
from pilotproto import schema

from .. import codec

_log = logging.getLogger(__name__)

_CHUNK = 65536
_RETRY_S = 1.0
TO_HOST = "to_host"
TO_BOARD = "to_board"


class Pty:
    """A pseudo-terminal in raw mode; `path` is what a user opens, the host keeps the master.

    The host also keeps the slave open so the pty survives clients coming and going.
    """

    def __init__(self):
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: a binary-clean line
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)

    def write(self, data):
        """Write what the pty takes; the rest is lost, as on a UART nobody listens to."""
        try:
            os.write(self.master, data)
        except BlockingIOError:
            pass

    def close(self):
        os.close(self.master)
        os.close(self._slave)


class SerialNoise:
    """Per-byte line errors with fixed probabilities, from a seeded generator.

    flip: a byte gets one random bit inverted; drop: a byte is lost; insert: a random byte
    appears before it. direction: TO_HOST, TO_BOARD or "both".
    """

    def __init__(self, seed):
        self._rng = random.Random(seed)
        self.flip = self.drop = self.insert = 0.0
        self.direction = "both"
        self.flipped = self.dropped = self.inserted = 0

    def configure(self, flip=0.0, drop=0.0, insert=0.0, direction="both"):
        """Arguments as checked by scenario.check_event."""
        self.flip, self.drop, self.insert, self.direction = flip, drop, insert, direction

    def apply(self, data, direction):
        if not (self.flip or self.drop or self.insert) or self.direction not in (
            direction,
            "both",
        ):
            return data
        rnd = self._rng.random
        out = bytearray()
        for b in data:
            if rnd() < self.insert:
                out.append(self._rng.randrange(256))
                self.inserted += 1
            if rnd() < self.drop:
                self.dropped += 1
                continue
            if rnd() < self.flip:
                b ^= 1 << self._rng.randrange(8)
                self.flipped += 1
            out.append(b)
        return bytes(out)


class HostSender:
    """The scenario's operator: sends set points (PARAM_SET) and commands (COMMAND) to the
    board, resending each until the board answers it (PARAM_VALUE, ACK).

    Frames are inserted into the host-to-board stream only between a client's frames, so
    none is cut in two. A resent COMMAND keeps its cmd_id: the board runs it once.
    """

    def __init__(self, seed):
        self.pending = {}  # answer key -> frame bytes
        self.answers = {}  # answer key -> the board's answer (codec.Frame)
        self._decoder = codec.StreamDecoder()
        self._seq = 0
        self._cmd_id = random.Random(seed).getrandbits(32)
        self._sent_at = 0.0

    def _frame(self, msg_id, values):
        frame = codec.encode_raw(msg_id, values, self._seq)
        self._seq = (self._seq + 1) & 0xFF
        return frame

    def param(self, unit, name, value):
        raw = codec.param_to_raw(name, value)
        self.pending[("PARAM", unit, name)] = self._frame(m.MSG_PARAM_SET,
                                                          [unit, name.encode(), raw])

    def command(self, unit, verb, arg0=0, arg1=0):
        cmd_id = self._cmd_id
        self._cmd_id = (cmd_id + 1) & 0xFFFFFFFF
        self.pending[("ACK", cmd_id)] = self._frame(m.MSG_COMMAND,
                                                    [cmd_id, unit, verb, arg0, arg1])
        return cmd_id

    def frames_due(self, now):
        if not self.pending or now - self._sent_at < _RETRY_S:
            return b""
        self._sent_at = now
        return b"".join(self.pending.values())

    def watch(self, data):
        # Look for the answers in what the board sent (only while some are pending).
        if not self.pending:
            return
        for frame in self._decoder.feed(data):
            if frame.msg_id == m.MSG_PARAM_VALUE:
                f = frame.fields()
                key = ("PARAM", f["unit"], f["name"])
                bad = f["result"] != "OK"
            elif frame.msg_id == m.MSG_ACK:
                key = ("ACK", frame.values[schema.ACK_CMD_ID])
                bad = frame.fields()["result"] in ("REJECTED", "FAILED")
            else:
                continue
            if self.pending.pop(key, None) is not None:
                self.answers[key] = frame
                if bad:
                    _log.warning("board refused scenario %s: %s", key, frame.fields())


class Relay:
    """Copies bytes between a board process's sockets and its two ptys, on one thread."""

    def __init__(self, name, seed):
        self.name = name
        self.protocol = Pty()
        self.repl = Pty()
        self.noise = SerialNoise(seed)
        self.sender = HostSender(seed)
        self.tap = None  # bytearray collecting the board's clean protocol output, when set
        self._lock = threading.Lock()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._sel.register(self.protocol.master, selectors.EVENT_READ, "protocol_pty")
        self._sel.register(self.repl.master, selectors.EVENT_READ, "repl_pty")
        self._uart = None
        self._repl_sock = None
        self._between_frames = True  # the host-to-board stream is at a frame boundary
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="bench-relay-" + name,
                                        daemon=True)
        self._thread.start()

    def attach(self, uart, repl):
        """Connect a freshly started process's sockets."""
        with self._lock:
            for sock, key in ((uart, "uart"), (repl, "repl")):
                sock.setblocking(False)
                # A frame goes out at once: with Nagle's algorithm a small write waits for
                # the peer's delayed ACK (40 ms on Linux), 24 board seconds at 600x.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sel.register(sock, selectors.EVENT_READ, key)
            self._uart, self._repl_sock = uart, repl
            self._between_frames = True
        self._wake()

    def detach(self):
        """Forget the sockets of a process that is gone (the ptys stay). What it sent last -
        "MPY: soft reboot", a final frame - is still forwarded."""
        with self._lock:
            for sock in (self._uart, self._repl_sock):
                if sock is None:
                    continue
                try:
                    self._sel.unregister(sock)
                except KeyError:
                    pass  # already dropped at its end of file
                self._drain(sock)
                sock.close()
            self._uart = self._repl_sock = None
        self._wake()

    def _drain(self, sock):
        while True:
            try:
                data = sock.recv(_CHUNK)
            except OSError:  # nothing left (BlockingIOError) or reset by the dying process
                return
            if not data:
                return
            self._from_board(sock, data)

    def close(self):
        self._stop = True
        self._wake()
        self._thread.join()
        self.detach()
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()
        self.protocol.close()
        self.repl.close()

    def _wake(self):
        self._wake_w.send(b"x")

    def _run(self):
        while not self._stop:
            events = self._sel.select(timeout=_RETRY_S / 4)
            with self._lock:
                for key, _ in events:
                    self._forward(key)
                if self._uart is not None and self._between_frames:
                    self._send_to_board(self.sender.frames_due(time.monotonic()))

    def _forward(self, key):
        what = key.data
        if what is None:
            key.fileobj.recv(_CHUNK)
            return
        if what in ("uart", "repl"):
            sock = key.fileobj
            if sock not in (self._uart, self._repl_sock):
                return  # detached while this event waited
            try:
                data = sock.recv(_CHUNK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self._sel.unregister(sock)  # the process is going; its supervisor detaches it
                return
            self._from_board(sock, data)
            return
        pty = self.protocol if what == "protocol_pty" else self.repl
        try:
            data = os.read(pty.master, _CHUNK)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno == errno.EIO:  # no client on the slave side right now
                return
            raise
        if what == "repl_pty":
            if self._repl_sock is not None:
                _send_all(self._repl_sock, data)
            return
        self._between_frames = data.endswith(b"\x00")
        self._send_to_board(self.noise.apply(data, TO_BOARD))

    def _from_board(self, sock, data):
        if sock is self._repl_sock:
            self.repl.write(data)
            return
        self.sender.watch(data)
        if self.tap is not None:
            self.tap.extend(data)
        self.protocol.write(self.noise.apply(data, TO_HOST))

    def _send_to_board(self, data):
        # A board that is off (no socket) loses what arrives, like a UART without power.
        if data and self._uart is not None:
            _send_all(self._uart, data)


def _send_all(sock, data):
    """Send everything on a non-blocking socket (the peer reads promptly or dies)."""
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            select.select([], [sock], [], 1.0)
        except OSError:
            return  # the process died; its supervisor restarts it
