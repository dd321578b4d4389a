# pilotedge: the virtual bench's HAL - hal/README.md on top of a simulated world (MIT).
#
# The firmware runs unchanged in the MicroPython Unix port; this HAL hands it emulated
# chips and pins (sim/devices.py) wired to plants (sim/world.py), and three loopback TCP
# connections to the host bench (host/pilotedge/bench): the protocol UART, the REPL and a
# control channel (JSON lines: fault injection, state queries, exit reports). The host
# relays UART and REPL to pty paths, so the board looks like one on a USB cable.
#
# Time: the sim clock is the firmware's only time source. sleep_until(t) steps the plants to
# t in fixed steps (lockstep), then paces to `speed` times real time (0 = flat out).
# Resets: the process reports the cause and the physical state on the control channel and
# waits to be killed; the host starts a new process on the same flash folder with that
# cause and state, so a reset or power cut behaves as on a board, mid-write included.
#
# Configuration: the JSON file named by the PILOTEDGE_BENCH environment variable, written by
# the host for each start of this board (host/pilotedge/bench/board.py documents the keys).

import builtins
import json
import os
import select
import socket
import sys
import time

from hal.clock import FakeClock
from pilotproto.framing import Encoder
from pilotproto.messages import (
    HEARTBEAT_MS,
    MSG_HEARTBEAT,
    RESET_HARD,
    RESET_POWER_ON,
    RESET_SOFT,
    RESET_WATCHDOG,
    STATE_RUN,
)
from sim.repl import Repl
from sim.world import World

CAUSES = {
    "hard": RESET_HARD,
    "power": RESET_POWER_ON,
    "soft": RESET_SOFT,
    "watchdog": RESET_WATCHDOG,
}
_CATCH_UP_MS = 1000  # a paced bench that fell this far behind real time stops catching up


def load_config():
    with open(os.getenv("PILOTEDGE_BENCH")) as f:
        return json.load(f)


class Stream:
    """One loopback connection: non-blocking readinto(), blocking send()."""

    def __init__(self, port, role):
        self.sock = socket.socket()
        self.sock.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        self.sock.write(role + b"\n")
        self.sock.setblocking(False)
        self._out = select.poll()
        self._out.register(self.sock, select.POLLOUT)

    def readinto(self, buf):
        return self.sock.readinto(buf) or None

    def send(self, data):
        view = memoryview(data)
        while view:
            n = self.sock.write(view)
            if n is None:
                self._out.poll(1000)
            else:
                view = view[n:]


class SocketUart:
    """hal.uart: the protocol UART (non-blocking readinto, write sends everything).

    With the scenario's operator_link on, a host HEARTBEAT frame is slipped in every
    HEARTBEAT_MS of simulated time, between the client's frames, as if a host were
    connected: commands that need a live link (VALVE, MANUAL modes) then hold in a
    scenario run without a client, at any speed.
    """

    def __init__(self, stream, world, operator_link):
        self._stream = stream
        self._world = world
        self._beat_ms = 0 if operator_link else None  # sim time of the next host heartbeat
        self._between_frames = True  # the client's stream is at a frame boundary
        self._encoder = Encoder()

    def readinto(self, buf):
        due = self._beat_ms
        if due is not None and self._world.now_ms >= due and self._between_frames:
            return self._heartbeat(buf)
        n = self._stream.readinto(buf)
        if n:
            self._between_frames = buf[n - 1] == 0
        return n

    def _heartbeat(self, buf):
        self._beat_ms = self._world.now_ms + HEARTBEAT_MS
        frame = self._encoder.encode(MSG_HEARTBEAT, [self._beat_ms & 0xFFFFFFFF, STATE_RUN,
                                                     0, 0, 0, 0, 0])
        n = len(frame)
        buf[:n] = frame
        return n

    def write(self, buf):
        self._stream.send(buf)
        return len(buf)


class SimClock(FakeClock):
    """Ticks as a board's (wrap at 2**30); every sleep advances the world to its deadline."""

    def __init__(self, hal, start_ms, speed, epoch_ms):
        FakeClock.__init__(self, start_ms)
        self._hal = hal
        self._world = hal.world
        self._speed = speed
        self._epoch_ms = epoch_ms
        self._anchor()

    def _anchor(self):
        self._real0 = time.ticks_ms()
        self._sim0 = self._world.now_ms

    def sleep_until(self, t_ms):
        # Hot path (once per firmware pass): few locals, see World.advance_to.
        d = self.ticks_diff(t_ms, self.now_ms)
        if d > 0:
            self._world.advance_to(self._world.now_ms + d)
            self.advance(d)
            self._hal.after_sleep()
            if self._speed:
                self._pace()

    def _pace(self):
        ahead = int((self._world.now_ms - self._sim0) / self._speed) - time.ticks_diff(
            time.ticks_ms(), self._real0
        )
        if ahead > 0:
            time.sleep_ms(ahead)
        elif ahead < -_CATCH_UP_MS:
            self._anchor()

    def wall_ms(self):
        return self._epoch_ms + self._world.now_ms


class SimWdt:
    """machine.WDT: the HAL resets the board when feed() stops for timeout_ms of sim time."""

    def __init__(self, world, timeout_ms):
        self._world = world
        self.timeout_ms = timeout_ms
        self.fed_ms = world.now_ms

    def feed(self):
        self.fed_ms = self._world.now_ms

    def expired(self):
        return self._world.now_ms - self.fed_ms >= self.timeout_ms


class _CutFile:
    """A file opened for writing while a power cut is armed: the power dies after k bytes."""

    def __init__(self, f, hal):
        self._f = f
        self._hal = hal

    def write(self, data):
        left = self._hal.cut_bytes
        if len(data) < left:
            self._hal.cut_bytes = left - len(data)
            return self._f.write(data)
        self._f.write(data[:left])
        self._f.flush()
        self._hal.exit("power", self._hal.cut_off_ms)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


class SimHal:
    def __init__(self, board, cfg):
        scenario = cfg["scenario"]
        self.world = World(board, scenario, cfg["seed"])
        resume = cfg.get("resume")
        if resume:
            self.world.restore(resume)
        self.world.advance_to(self.world.now_ms + cfg.get("off_ms", 0))  # board without power
        self.flash_dir = cfg["flash_dir"]
        self.uptime_start_ms = 0  # the runtime's uptime at boot
        self._cause = cfg["reset_cause"]
        # The firmware runs: False after a soft reset in raw REPL mode (as on a board, main.py
        # is skipped) and once main.py has ended (sim/run.py).
        self.firmware = cfg.get("firmware", True)
        self.clock = SimClock(
            self, scenario.get("ticks_start_ms", 0), cfg.get("speed", 0), cfg["epoch_ms"]
        )
        self.wdt = None
        self.cut_bytes = None  # bytes the next flash write may still put down, when armed
        self.cut_off_ms = 0
        port = cfg["port"]
        self._ctl = Stream(port, b"ctl")
        self.uart = SocketUart(Stream(port, b"uart"), self.world,
                               scenario.get("operator_link", False))
        self._repl_stream = Stream(port, b"repl")
        self.repl = Repl(
            self._repl_stream, self.flash_dir, cfg.get("repl_raw", False), self._soft_reset
        )
        builtins.print = self.repl.print  # a board prints on its REPL console
        self._poll = select.poll()
        self._poll.register(self._ctl.sock, select.POLLIN)
        self._poll.register(self._repl_stream.sock, select.POLLIN)
        self._rx = bytearray(512)
        self._polled_ms = 0
        self._pending = bytearray()  # control bytes up to the next newline
        self._send({"event": "boot", "now_ms": self.world.now_ms, "cause": self._cause})

    # ---- hal/README.md ----------------------------------------------------------------------

    def i2c(self, bus):
        return self.world.i2c[bus]

    def onewire(self, bus):
        return self.world.onewire[bus]

    def spi(self, bus):
        raise KeyError("the sim board has no SPI bus " + bus)

    def pin(self, name):
        return self.world.pin(name)

    def start_watchdog(self, timeout_ms):
        self.wdt = SimWdt(self.world, timeout_ms)

    def reset_cause(self):
        return self._cause

    def reset(self):
        self.exit("soft")

    def to_repl(self):
        raise SystemExit

    def service(self):
        # Called every scheduler pass (thousands per real second when flat out): the
        # sockets are polled at most once per real millisecond.
        now = time.ticks_ms()
        if now != self._polled_ms:
            self._polled_ms = now
            self._serve()

    def _serve(self):
        for obj, _ in self._poll.ipoll(0):
            if obj is self._ctl.sock:
                self._control()
            else:
                self.repl.poll()
        self.repl.flush()
        self.after_sleep()

    # ---- bench --------------------------------------------------------------------------------

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
            builtins.open = self._open

    def _open(self, path, mode="r", *args):
        f = _real_open(path, mode, *args)
        if self.cut_bytes is not None and ("w" in mode or "a" in mode or "+" in mode):
            return _CutFile(f, self)
        return f

    def exit(self, cause, off_ms=0, firmware=True):
        """Report the reset to the host and wait to be killed: nothing after this runs."""
        powered = cause != "power"
        self._send(
            {
                "event": "exit",
                "cause": CAUSES[cause],
                "off_ms": off_ms,
                "firmware": firmware,
                "repl_raw": self.repl.raw,
                "snapshot": self.world.snapshot(powered),
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
            else:
                raise ValueError("unknown op " + op)
        except Exception as e:  # noqa: BLE001 - a bad request must not stop the board
            reply = {"id": req.get("id"), "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        self._send(reply)


_real_open = builtins.open
current = None  # this process's board (there is one per process), for firmware/sim/run.py


def make(board):
    global current
    current = SimHal(board, load_config())
    return current
