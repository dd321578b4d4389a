# pilotedge bench: the simulated board itself, the hardware under the firmware (MIT).
#
# What a board has whatever firmware is on its flash: its chips and pins wired to the plants
# (sim/world.py), a millisecond timer, a watchdog, a serial port, a REPL console and the power
# switch. The firmware reaches it only through its HAL (firmware/hal/sim.py), as it reaches a
# port's `machine` module on a board; with no firmware on the flash the board sits in its
# REPL (sim/run.py). Towards the host bench (host/pilotedge/bench) it keeps three loopback TCP
# connections: the protocol UART, the REPL and a control channel (JSON lines: fault
# injection, state queries, the trace, exit reports). The host relays UART and REPL to pty
# paths, so the board looks like one on a USB cable.
#
# Time: sleep_ms(d) steps the plants d ms further in fixed steps (lockstep), then paces to
# `speed` times real time (0 = flat out). Resets: the process reports the cause and the
# physical state on the control channel and waits to be killed; the host starts a new process
# on the same flash folder with that cause and state, so a reset or power cut behaves as on a
# board, mid-write included.
#
# Configuration: the JSON file named by the PILOTEDGE_BENCH environment variable, written by
# the host for each start of this board (host/pilotedge/bench/board.py documents the keys).
# This package imports nothing of the firmware: the firmware is what is on the flash.

import json
import os
import select
import socket
import sys
import time

from sim.repl import Repl
from sim.world import World

_IPPROTO_TCP = 6
_TCP_NODELAY = 1
_CATCH_UP_MS = 1000  # a paced bench that fell this far behind real time stops catching up
_HOST_SLACK_MS = 2000  # simulated: how far the board's clock may run ahead of its host
_HOST_WAIT_MS = 200  # real: how long the board waits for a host before taking it as gone
_board = None  # the board this process simulates (one per process), as `machine` is one


def running():
    """The simulated board of this process (what firmware/hal/sim.py builds its HAL on)."""
    return _board


def power_on():
    """Build the board from the host's configuration and connect it to the host."""
    global _board
    with open(os.getenv("PILOTEDGE_BENCH")) as f:
        cfg = json.load(f)
    _board = Board(cfg)
    return _board


class Stream:
    """One loopback connection: non-blocking readinto(), blocking send(), wait() for input."""

    def __init__(self, port, role):
        self.sock = socket.socket()
        self.sock.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        # Frames go out at once (Linux IPPROTO_TCP, TCP_NODELAY; this port lacks the names):
        # with Nagle's algorithm a small write waits up to 40 ms, 24 board seconds at 600x.
        self.sock.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
        self.sock.write(role + b"\n")
        self.sock.setblocking(False)
        self._out = select.poll()
        self._out.register(self.sock, select.POLLOUT)
        self._in = select.poll()
        self._in.register(self.sock, select.POLLIN)

    def readinto(self, buf):
        return self.sock.readinto(buf) or None

    def wait(self, ms):
        """True when data arrived within ms real milliseconds."""
        return bool(self._in.poll(ms))

    def send(self, data):
        view = memoryview(data)
        while view:
            n = self.sock.write(view)
            if n is None:
                self._out.poll(1000)
            else:
                view = view[n:]


class Uart:
    """The protocol UART (non-blocking readinto, write sends everything).

    With the scenario's operator_link on, a host HEARTBEAT frame (`heartbeat`, encoded by
    the host) is slipped in every heartbeat_ms of simulated time, between the client's
    frames, as if a host were connected: commands that need a live link (VALVE, MANUAL
    modes) then hold in a scenario run without a client, at any speed.
    """

    def __init__(self, stream, world, heartbeat, heartbeat_ms):
        self._stream = stream
        self._world = world
        self._beat = heartbeat
        self._beat_ms = heartbeat_ms
        self._due_ms = 0 if heartbeat else None  # sim time of the next host heartbeat
        self._between_frames = True  # the client's stream is at a frame boundary
        self._host_ms = None  # sim time of the host's last bytes; None: no host (any more)

    def keep_pace_with_host(self):
        # A host answers each board heartbeat. On a fast bench its answer can come later, in
        # board time, than the board's link timeout (5.5 board s: 9 ms of real time at
        # 600x) while the host's process waits for a core: a link loss no real board would
        # see. So while a host is talking, the board's clock does not run more than
        # _HOST_SLACK_MS ahead of the host's last bytes: it waits for them, up to
        # _HOST_WAIT_MS of real time, and then takes the host as gone (its own link-loss
        # rule then counts as on a board, in board time).
        host = self._host_ms
        if host is not None and self._world.now_ms - host > _HOST_SLACK_MS:
            if not self._stream.wait(_HOST_WAIT_MS):
                self._host_ms = None

    def readinto(self, buf):
        due = self._due_ms
        if due is not None and self._world.now_ms >= due and self._between_frames:
            self._due_ms = self._world.now_ms + self._beat_ms
            n = len(self._beat)
            buf[:n] = self._beat
            return n
        n = self._stream.readinto(buf)
        if n:
            self._between_frames = buf[n - 1] == 0
            self._host_ms = self._world.now_ms
        return n

    def write(self, buf):
        self._stream.send(buf)
        return len(buf)


class Watchdog:
    """machine.WDT: the board resets when feed() stops for timeout_ms of simulated time."""

    def __init__(self, world, timeout_ms):
        self._world = world
        self.timeout_ms = timeout_ms
        self.fed_ms = world.now_ms

    def feed(self):
        self.fed_ms = self._world.now_ms

    def expired(self):
        return self._world.now_ms - self.fed_ms >= self.timeout_ms


class Board:
    """The simulated board. Attributes the HAL uses: world, uart, repl, flash_dir,
    reset_cause, ticks_start_ms, uptime_start_ms, wdt, firmware."""

    def __init__(self, cfg):
        scenario = cfg["scenario"]
        world = self.world = World(cfg["board"], scenario, cfg["seed"])
        resume = cfg.get("resume")
        if resume:
            world.restore(resume)
        world.advance_to(world.now_ms + cfg.get("off_ms", 0))  # the board without power
        if cfg.get("trace"):
            world.start_trace(cfg["trace"], cfg.get("trace_every_ms", 1))
        self.flash_dir = cfg["flash_dir"]
        os.chdir(self.flash_dir)
        self.reset_cause = cfg["reset_cause"]
        # Time presets: where the firmware's ticks and uptime start at this power-on.
        self.ticks_start_ms = scenario.get("ticks_start_ms", 0)
        self.uptime_start_ms = scenario.get("uptime_start_ms", 0)
        # False after a soft reset in raw REPL mode (as on a board, main.py is skipped) and
        # once main.py has ended (sim/run.py).
        self.firmware = cfg.get("firmware", True)
        self.wdt = None
        self.cut_bytes = None  # bytes the next flash writes may still put down, when armed
        self.cut_off_ms = 0
        self._speed = cfg.get("speed", 0)
        self._epoch_ms = cfg["epoch_ms"]
        self._anchor()
        port = cfg["port"]
        self._ctl = Stream(port, b"ctl")
        beat = cfg.get("operator_heartbeat")
        self.uart = Uart(Stream(port, b"uart"), world, beat and bytes.fromhex(beat),
                         cfg.get("heartbeat_ms", 1000))
        self._repl_stream = Stream(port, b"repl")
        self.repl = Repl(self._repl_stream, self.flash_dir, cfg.get("repl_raw", False),
                         self._soft_reset)
        self._poll = select.poll()
        self._poll.register(self._ctl.sock, select.POLLIN)
        self._poll.register(self._repl_stream.sock, select.POLLIN)
        self._rx = bytearray(512)
        self._polled_ms = time.ticks_ms()
        self._pending = bytearray()  # control bytes up to the next newline
        self._send({"event": "boot", "now_ms": world.now_ms, "cause": self.reset_cause})

    # ---- time -------------------------------------------------------------------------------

    def sleep_ms(self, d_ms):
        """Let d_ms of simulated time pass: the plants step, then the host's events, the
        watchdog and exits are acted on, then the pace is kept."""
        # Hot path (once per firmware pass): few locals, see World.advance_to.
        self.uart.keep_pace_with_host()
        self.world.advance_to(self.world.now_ms + d_ms)
        self.after_sleep()
        if self._speed:
            self._pace()

    def _anchor(self):
        self._real0 = time.ticks_ms()
        self._sim0 = self.world.now_ms

    def _pace(self):
        ahead = int((self.world.now_ms - self._sim0) / self._speed) - time.ticks_diff(
            time.ticks_ms(), self._real0
        )
        if ahead > 0:
            time.sleep_ms(ahead)
        elif ahead < -_CATCH_UP_MS:
            self._anchor()

    def wall_ms(self):
        return self._epoch_ms + self.world.now_ms

    def start_watchdog(self, timeout_ms):
        self.wdt = Watchdog(self.world, timeout_ms)
        return self.wdt

    # ---- what the host and the world ask for -------------------------------------------------

    def service(self):
        # Called every scheduler pass (thousands per real second when flat out): the
        # sockets are polled at most once per real millisecond.
        now = time.ticks_ms()
        if now != self._polled_ms:
            self._polled_ms = now
            for obj, _ in self._poll.ipoll(0):
                if obj is self._ctl.sock:
                    self._control()
                else:
                    self.repl.poll()
            self.repl.flush()
            self.after_sleep()

    def after_sleep(self):
        """Act on what the world or the host asked for: host events, watchdog, exits."""
        world = self.world
        while world.outbox:
            self._send({"event": "host", "action": world.outbox.pop(0)})
        if self.wdt is not None and self.wdt.expired():
            self.exit("watchdog")
        if world.exit is not None:
            cause, off_ms, after_bytes = world.exit
            if after_bytes is None:
                self.exit(cause, off_ms)
            world.exit = None
            self.cut_bytes = after_bytes
            self.cut_off_ms = off_ms

    def cut_after(self, n):
        """Of n bytes about to be written to flash, how many get there before an armed power
        cut strikes (None: all of them, the power stays)."""
        left = self.cut_bytes
        if left is None or n < left:
            if left is not None:
                self.cut_bytes = left - n
            return None
        return left

    def exit(self, cause, off_ms=0, firmware=True):
        """Report the reset to the host and wait to be killed: nothing after this runs.
        cause: "hard", "power", "soft" or "watchdog"."""
        if self.world.trace is not None:
            self.world.trace.flush()
        self._send(
            {
                "event": "exit",
                "cause": cause,
                "off_ms": off_ms,
                "firmware": firmware,
                "repl_raw": self.repl.raw,
                "snapshot": self.world.snapshot(cause != "power"),
            }
        )
        self._ctl.sock.setblocking(True)
        while self._ctl.sock.readinto(self._rx):
            pass
        sys.exit(3)  # the host went away before killing us

    def _soft_reset(self, raw):
        # Raw-mode soft reset (mpremote without `resume`) skips main.py, as on a board.
        self._repl_stream.send(b"MPY: soft reboot\r\n")
        self.exit("soft", 0, not raw)

    def _send(self, obj):
        self._ctl.send(json.dumps(obj).encode() + b"\n")

    def _control(self):
        n = self._ctl.sock.readinto(self._rx)
        if n is None:
            return
        if n == 0:
            raise SystemExit  # the host bench is gone: so is this board
        pending = self._pending
        pending.extend(memoryview(self._rx)[:n])
        while True:
            nl = pending.find(b"\n")
            if nl < 0:
                break
            line = bytes(pending[:nl])
            self._pending = pending = pending[nl + 1 :]
            self._request(json.loads(line))

    def _request(self, req):
        reply = {"id": req.get("id"), "ok": True}
        try:
            op = req["op"]
            if op == "inject":
                self.world.apply(req["event"])
            elif op == "state":
                reply["state"] = self.world.truth()
                reply["state"]["firmware"] = self.firmware
            elif op == "trace_flush":
                if self.world.trace is None:
                    raise ValueError("this board records no trace")
                self.world.trace.flush()
            else:
                raise ValueError("unknown op " + op)
        except Exception as e:  # noqa: BLE001 - a bad request must not stop the board
            reply = {"id": req.get("id"), "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        self._send(reply)
