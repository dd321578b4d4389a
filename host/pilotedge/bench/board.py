"""One simulated board: its flash folder, its pty endpoints, and the process that runs it.

The process is the MicroPython Unix port running the bench's simulated board
(firmware/sim/run.py and sim/hardware.py, from a ROM folder that holds only the `sim`
package), which runs whatever firmware is on the board's flash folder: start() deploys the
firmware there first, as `pilotedge deploy` does to a board, unless told not to. It reaches
the host over three loopback TCP connections to this board's listener,
each opened with a role line: "uart" and "repl" go to the relay (relay.py), "ctl" carries
JSON lines both ways - requests with an "id" and their replies, and events from the board:

    {"event": "boot", "now_ms": ..., "cause": ...}        the process is up
    {"event": "host", "action": {...}}                     a timed host event is due
    {"event": "exit", "cause": ..., "snapshot": {...}, ...} a reset: kill me and restart
                                                           (cause: hard, power, soft, watchdog)

On "exit" the supervisor kills the process (so nothing in it runs after a power cut, not
even a `finally`) and starts a new one on the same flash folder with the reported reset
cause and physical state, as a reset would. The per-start configuration the process reads
(PILOTEDGE_BENCH) is <workdir>/<name>.json:

    flash_dir, port                  the board's flash folder (cwd) and the host's listener
    board                            the board file: how the simulated board is wired
    seed, epoch_ms, speed            noise seed, wall clock at sim time 0, pacing (0 = flat out)
    scenario                         Scenario.board_json
    reset_cause, resume, off_ms      RESET_* value reported by reset_cause(), world snapshot,
                                     time off
    firmware, repl_raw               run main.py / start in raw REPL (after a soft reset)
    operator_heartbeat, heartbeat_ms a host HEARTBEAT frame (hex) the board's UART receives
                                     every heartbeat_ms when the scenario has operator_link
    trace                            record the truth trace into this file (trace.py), or null
    trace_every_ms                   plant steps and samples in the trace at most this often
"""

import itertools
import json
import logging
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

from pilotproto import messages as m

from .. import codec, deploy, resources
from ..errors import BenchError
from .relay import Relay

_log = logging.getLogger(__name__)

FIRMWARE = resources.firmware_dir()
MICROPYTHON = resources.micropython()
# Code is frozen into flash on a board but lives in the heap here, at 64-bit sizes: the sim's
# own modules and the firmware's bytecode (vessel safety, calibration, control and the
# canister monitor) take about 320 KB at boot (68 KB free of 384 KB), so 512 KB leaves the
# firmware roughly what an RP2040 or ESP32 port leaves a frozen application. The 32-bit
# figures: tools/bench/firmware.py.
DEFAULT_HEAP = "512k"
_CONNECT_S = 30.0  # a process must connect within this (wall) time of its start
_ROLES = (b"ctl", b"uart", b"repl")
_CAUSES = {"hard": m.RESET_HARD, "power": m.RESET_POWER_ON, "soft": m.RESET_SOFT,
           "watchdog": m.RESET_WATCHDOG}


def deploy_firmware(flash_dir, board_file):
    """Deploy the firmware onto a flash folder as `pilotedge deploy` lays it out on a board
    (deploy.layout: loader main.py, board.json, app/), as sources, which the board compiles
    at boot; files of the board's own (config, state, calibrations) stay. Returns
    deploy.Stats."""
    return deploy.install(deploy.LocalFlash(flash_dir), deploy.layout(board_file))


def _operator_heartbeat():
    """The HEARTBEAT frame a connected host would send, for scenarios with operator_link."""
    fields = {"uptime": 0, "state": "RUN", "faults": 0, "overruns": 0, "cycle_max": 0,
              "heap_free": 0, "rx_errors": 0}
    return codec.encode("HEARTBEAT", fields, 0).hex()


class SimBoard:
    """Supervisor of one board process; endpoints stay the same across its resets.

    Attributes for users: name, flash_dir, protocol_port and repl_port (pty paths), boots
    (starts seen), resets (reset causes, in order), crash (None, or why the board process
    ended without a reset report: a bench failure, never restarted), trace_path (the
    truth trace file, or None when none is recorded).
    """

    def __init__(self, name, index, scenario, workdir, speed=0.0, heap=DEFAULT_HEAP, seed=None,
                 on_event=None, trace=False, deploy=True):
        self.name = name
        self.workdir = Path(workdir)
        self.flash_dir = self.workdir / name
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        self.trace_path = self.workdir / (name + ".trace") if trace else None
        self._trace_every_ms = 1 if trace is True else int(trace or 1)
        self._deploy = deploy
        self._scenario = scenario
        self._seed = (scenario.seed if seed is None else seed) + 7919 * index
        self._speed = speed
        self._heap = heap
        self._on_event = on_event or (lambda board, event: None)
        self._epoch_ms = int(time.time() * 1000)
        self.relay = Relay(name, self._seed)
        self.protocol_port = self.relay.protocol.path
        self.repl_port = self.relay.repl.path
        self.boots = 0
        self.resets = []
        self.crash = None  # why the bench lost this board, if it did
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._port = self._listener.getsockname()[1]
        self._proc = None
        self._ctl = None
        self._ids = itertools.count(1)
        self._cv = threading.Condition()
        self._replies = {}
        self._stopping = False
        self._life = threading.Lock()  # start/restart/stop, from the caller or the ctl thread
        self._log_file = open(self.workdir / (name + ".log"), "ab")

    # -- life cycle -----------------------------------------------------------------------

    def start(self):
        """Deploy the firmware and the board file onto the flash folder (unless deploy is
        off: then the board boots whatever its flash holds, or its REPL if nothing) and
        power the board on. The flash keeps its other files, as a board's does."""
        if self._deploy:
            deploy_firmware(self.flash_dir, self._scenario.board_file)
        if self.trace_path is not None and self.trace_path.exists():
            self.trace_path.unlink()  # a new recording, appended to by every start
        for unit, name, value in self._scenario.params:
            self.relay.sender.param(unit, name, value)
        with self._life:
            self._spawn({"reset_cause": m.RESET_POWER_ON})

    def stop(self):
        with self._life:
            self._stopping = True
            self._kill()
        self.relay.close()
        self._listener.close()
        self._log_file.close()

    def _rom(self):
        """The board's ROM folder: the simulated hardware, the `sim` package and nothing
        else, so that no firmware module can come from anywhere but the flash."""
        rom = self.workdir / "rom"
        link = rom / "sim"
        if not link.is_symlink() or link.resolve() != (FIRMWARE / "sim").resolve():
            rom.mkdir(exist_ok=True)
            if link.is_symlink():
                link.unlink()
            link.symlink_to(FIRMWARE / "sim", target_is_directory=True)
        return link / "run.py"

    def _spawn(self, start):
        scenario = self._scenario.board_json
        cfg = {
            "flash_dir": str(self.flash_dir),
            "port": self._port,
            "board": self._scenario.board,
            "seed": self._seed,
            "epoch_ms": self._epoch_ms,
            "speed": self._speed,
            "scenario": scenario,
            "heartbeat_ms": m.HEARTBEAT_MS,
            "operator_heartbeat": _operator_heartbeat() if scenario["operator_link"] else None,
            "trace": None if self.trace_path is None else str(self.trace_path),
            "trace_every_ms": self._trace_every_ms,
        }
        cfg.update(start)
        cfg_path = self.workdir / (self.name + ".json")
        cfg_path.write_text(json.dumps(cfg))
        env = dict(os.environ, PILOTEDGE_BENCH=str(cfg_path))
        self._proc = subprocess.Popen(
            [str(MICROPYTHON), "-X", "heapsize=" + self._heap, str(self._rom())],
            cwd=self.flash_dir, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
        )
        socks = self._accept()
        self.relay.attach(socks[b"uart"], socks[b"repl"])
        self._ctl = socks[b"ctl"]
        threading.Thread(target=self._read_control, args=(self._ctl, self._proc),
                         name="bench-ctl-" + self.name, daemon=True).start()

    def _accept(self):
        socks = {}
        deadline = time.monotonic() + _CONNECT_S
        while len(socks) < len(_ROLES):
            self._listener.settimeout(0.1)
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    for s in socks.values():
                        s.close()
                    self._kill()
                    raise BenchError("board %s did not start:\n%s" % (self.name, self.log_tail()))
                continue
            sock.settimeout(_CONNECT_S)
            role = b""
            while not role.endswith(b"\n"):
                byte = sock.recv(1)
                if not byte:
                    break
                role += byte
            if role.strip() not in _ROLES:
                sock.close()
                continue
            sock.settimeout(None)
            # Small writes go out at once: Nagle's algorithm would hold a REPL reply or a
            # frame back until the board's delayed ACK (40 ms on Linux).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            socks[role.strip()] = sock
        return socks

    def _kill(self):
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait()
        self.relay.detach()
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None

    def log_tail(self, lines=20):
        """The end of the board process's own output (tracebacks of the bench itself)."""
        self._log_file.flush()
        text = (self.workdir / (self.name + ".log")).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- control channel ------------------------------------------------------------------

    def _read_control(self, sock, proc):
        exit_event = None
        try:
            with sock.makefile("rb") as lines:
                for line in lines:
                    msg = json.loads(line)
                    if "id" in msg:
                        with self._cv:
                            self._replies[msg["id"]] = msg
                            self._cv.notify_all()
                        continue
                    kind = msg["event"]
                    if kind == "exit":
                        exit_event = msg
                        break
                    if kind == "boot":
                        with self._cv:
                            self.boots += 1
                            self._cv.notify_all()
                    elif kind == "host":
                        self.host_action(msg["action"])
                    self._on_event(self, msg)
        except OSError:
            pass  # the process died: handled as a crash below
        if self._stopping or proc is not self._proc:
            return
        if exit_event is not None:
            try:
                self._restart(exit_event)
            except BenchError as e:  # the new process did not come up
                with self._cv:
                    self.crash = str(e)
                    self._cv.notify_all()
            return
        # The bench itself failed (a board's own crash ends in its REPL, not here): keep the
        # evidence instead of restarting into the same failure.
        proc.wait()
        with self._cv:
            self.crash = "board %s process ended (exit status %s) without a reset report:\n%s" % (
                self.name, proc.returncode, self.log_tail())
            self._cv.notify_all()
        _log.error("%s", self.crash)

    def _restart(self, event):
        with self._life:
            if self._stopping:
                return
            self._kill()
            cause = _CAUSES[event["cause"]]
            with self._cv:
                self.resets.append(cause)
                self._cv.notify_all()
            self._on_event(self, dict(event, event="exit", cause=cause, snapshot=None))
            self._spawn({
                "reset_cause": cause,
                "resume": event.get("snapshot"),
                "off_ms": event.get("off_ms", 0),
                "firmware": event.get("firmware", True),
                "repl_raw": event.get("repl_raw", False),
            })

    def host_action(self, action):
        """Carry out an event that happens outside the board: serial noise, or what an
        operator would send (a set point, a command)."""
        do = action["do"]
        if do == "serial_noise":
            args = {k: action[k] for k in ("flip", "drop", "insert", "direction") if k in action}
            self.relay.noise.configure(**args)
        elif do == "param":
            self.relay.sender.param(action["unit"], action["name"], action["value"])
        else:
            self.relay.sender.command(action["unit"], action["verb"], action.get("arg0", 0),
                                      action.get("arg1", 0))

    def request(self, op, timeout=10.0, **fields):
        """Send one control request and return its reply (BenchError on error or timeout)."""
        req_id = next(self._ids)
        data = json.dumps(dict(fields, op=op, id=req_id)).encode() + b"\n"
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._ctl is None or self.crash:
                if self.crash:
                    raise BenchError(self.crash)
                if not self._cv.wait(max(0.0, deadline - time.monotonic())):
                    raise BenchError("board %s is not running" % self.name)
            try:
                self._ctl.sendall(data)
            except OSError as e:
                raise BenchError("board %s: %s (was it resetting?)" % (self.name, e))
            while req_id not in self._replies:
                if not self._cv.wait(max(0.0, deadline - time.monotonic())):
                    raise BenchError("board %s: no answer to %s" % (self.name, op))
            reply = self._replies.pop(req_id)
        if not reply["ok"]:
            raise BenchError("board %s: %s" % (self.name, reply["error"]))
        return reply

    def wait_boots(self, count, timeout=30.0):
        """Block until the board has started `count` times in all."""
        with self._cv:
            if not self._cv.wait_for(lambda: self.boots >= count or self.crash, timeout):
                raise BenchError("board %s: %d starts after %.0f s, expected %d"
                                 % (self.name, self.boots, timeout, count))
            if self.crash:
                raise BenchError(self.crash)
