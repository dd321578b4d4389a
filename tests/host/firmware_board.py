"""A board for the host's tests: the real firmware, in this process, behind a socket.

The firmware runtime runs as tests/firmware/rig.py builds it - runtime, units, drivers and
protocol endpoint on the fake HAL's clock, watchdog and UART, its sensors the bench's chip
emulations reading a plant of fixed values - in a thread that keeps its clock at `speed`
times real time. Its UART is a loopback TCP socket that a Link opens as socket://. Between
the two lies a Line, which a test can make lossy the way a real line is: lose the next ACKs
or the next frames on their way to the host, mute either direction. The
board answers everything itself; nothing here answers a frame.

    board = FirmwareBoard()
    with Link(board.url) as link: ...
    board.close()
"""

import importlib.util
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from pilotedge import codec

_TESTS = Path(__file__).resolve().parents[1]
for _folder in (_TESTS.parent / "firmware", _TESTS / "firmware"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
# tests/firmware/rig.py, under a name of its own (tests/hil has a module `rig` too).
_SPEC = importlib.util.spec_from_file_location("firmware_rig", _TESTS / "firmware" / "rig.py")
firmware_rig = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(firmware_rig)

_TICK_S = 0.001


class Line:
    """The wire between host and board, with what a test may do to it and what it saw."""

    def __init__(self):
        self.drop_acks = 0  # lose the next N ACK frames on their way to the host
        self.mute_board = False  # nothing the board sends reaches the host
        self.mute_host = False  # nothing the host sends reaches the board
        self.lose = 0  # lose the board's next N frames, whatever they are
        self.from_host = Counter()  # frames the host sent, by message name
        self.commands = Counter()  # COMMAND frames the host sent, by cmd_id
        self._host = codec.StreamDecoder()

    def to_board(self, data):
        for frame in self._host.feed(data):
            self.from_host[frame.name] += 1
            if frame.name == "COMMAND":
                self.commands[frame.fields()["cmd_id"]] += 1
        return b"" if self.mute_host else data

    def to_host(self, frames):
        out = bytearray()
        for raw in frames:
            if self.mute_board:
                continue
            if self.lose:
                self.lose -= 1
                continue
            if self.drop_acks and codec.StreamDecoder().feed(raw)[0].name == "ACK":
                self.drop_acks -= 1
                continue
            out += raw
        return bytes(out)


class FirmwareBoard:
    """The real firmware in a thread, its UART on socket://127.0.0.1:<port> (`url`).

    rig: the tests/firmware/rig.py Rig it runs (its runtime `rig.rt`, plant, pins); speed:
    board seconds per real second.
    """

    def __init__(self, speed=10.0):
        self.rig = firmware_rig.Rig()
        self.line = Line()
        self._speed = speed
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = "socket://127.0.0.1:%d" % self._server.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()  # a test reads the runtime while the thread runs it
        self._thread = threading.Thread(target=self._serve, name="firmware-board", daemon=True)
        self._thread.start()

    def _serve(self):
        self._server.settimeout(0.05)
        conn = None
        while conn is None and not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
        if conn is None:
            return
        conn.setblocking(False)
        rig = self.rig
        start_s, start_ms = time.monotonic(), rig.clock.ticks_ms()
        pending = bytearray()
        while not self._stop.is_set():
            try:
                data = conn.recv(4096)
                if not data:
                    break  # the host closed the port
                rig.hal.uart.feed(self.line.to_board(data))
            except BlockingIOError:
                pass
            board_ms = int((time.monotonic() - start_s) * 1000 * self._speed)
            with self._lock:
                rig.rt.run(rig.clock.ticks_add(start_ms, board_ms))
                pending += rig.hal.uart.tx
                rig.hal.uart.tx = bytearray()
            frames = []
            while b"\x00" in pending:
                end = pending.index(b"\x00") + 1
                frames.append(bytes(pending[:end]))
                del pending[:end]
            if frames:
                out = self.line.to_host(frames)
                if out:
                    conn.sendall(out)
            time.sleep(_TICK_S)
        conn.close()

    def runtime(self):
        """The runtime, held still while the caller looks (a context manager)."""
        board = self

        class _Held:
            def __enter__(self):
                board._lock.acquire()
                return board.rig.rt

            def __exit__(self, *exc):
                board._lock.release()

        return _Held()

    def close(self):
        self._stop.set()
        self._thread.join()
        self._server.close()
