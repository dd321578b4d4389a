"""A board's MicroPython REPL as a deploy uses it: mpremote's SerialTransport in raw mode.

Board enters the raw REPL without a soft reset (the Ctrl-C mpremote sends first stops a
running main.py on a board; a bench board serves its REPL beside its firmware), tells what
MicroPython the board runs, and resets it so that main.py runs again. BoardFlash is the
board's flash as pilotedge.deploy.install() needs it. While the REPL is talking, the
firmware's watchdog (armed by the firmware, never disarmed: MicroPython cannot) is fed
through the runtime main.py left in the REPL's namespace, so a copy longer than the
board's watchdog_ms does not end in a reset half way.
"""

import contextlib
import io
import time
from typing import NamedTuple

import serial
from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

from .errors import DeployError

# sys.implementation._mpy: .mpy version | (sub-version | native arch << 2) << 8.
_ARCHS = (None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
          "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc")
_CHUNK = 1024  # bytes per raw-REPL write: a 4 KB literal at most for the board to parse
_FEED_S = 1.0  # feed the watchdog at least this often while the REPL talks


class BoardInfo(NamedTuple):
    """What a board's MicroPython says of itself (sys.implementation, sys.platform)."""

    name: str
    version: tuple
    mpy: int  # sys.implementation._mpy, 0 if the port does not say
    platform: str

    @property
    def mpy_version(self):
        return self.mpy & 0xFF, (self.mpy >> 8) & 3

    @property
    def arch(self):
        """The native-code architecture (mpy-cross -march), or None."""
        index = self.mpy >> 10
        return _ARCHS[index] if index < len(_ARCHS) else None

    def describe(self):
        name = "MicroPython" if self.name == "micropython" else self.name
        return "%s %s on %s, .mpy v%d.%d" % ((name, ".".join(map(str, self.version[:3])),
                                             self.platform) + self.mpy_version)


# Board-side helpers, defined once per session in the raw REPL (the board's own MicroPython).
# _pe_feed: main.py runs in the REPL's namespace on a board, so after a Ctrl-C (or TO_REPL)
# its runtime `rt` is still there, with the watchdog it armed.
_BOARD_HELPERS = """\
import os, sys
def _pe_can_reset():
    try:
        import machine
    except ImportError:
        return False
    return hasattr(machine, 'reset')
def _pe_feed():
    try:
        rt.hal.wdt.feed()
    except (NameError, AttributeError):
        pass
def _pe_walk(p, out):
    for e in os.ilistdir(p):
        q = p + '/' + e[0]
        if e[1] & 0x4000:
            _pe_walk(q, out)
        else:
            out.append(q)
    return out
def _pe_files(p):
    try:
        return _pe_walk(p, [])
    except OSError:
        return []
def _pe_rm(p):
    try:
        s = os.stat(p)
    except OSError:
        return
    if s[0] & 0x4000:
        for e in os.ilistdir(p):
            _pe_rm(p + '/' + e[0])
        os.rmdir(p)
    else:
        os.remove(p)
def _pe_mkdirs(p):
    d = ''
    for part in p.split('/'):
        d = d + '/' + part if d else part
        try:
            os.mkdir(d)
        except OSError:
            pass
def _pe_copy(a, b):
    buf = bytearray(512)
    with open(a, 'rb') as s, open(b, 'wb') as d:
        while True:
            n = s.readinto(buf)
            if not n:
                break
            d.write(buf if n == 512 else buf[:n])
def _pe_records(prefix):
    out = []
    for e in os.ilistdir():
        if e[1] & 0x4000:
            continue
        with open(e[0], 'rb') as f:
            if f.read(len(prefix)) == prefix:
                out.append(e[0])
    return out
"""


class BoardTransport(SerialTransport):
    """SerialTransport that, once the helpers are on the board, feeds the firmware's
    watchdog with the first command after every _FEED_S."""

    feeding = False
    _fed = 0.0

    def exec(self, command, data_consumer=None):
        if self.feeding and time.monotonic() - self._fed >= _FEED_S:
            self._fed = time.monotonic()
            command = "_pe_feed()\n" + command
        return super().exec(command, data_consumer)


class Board:
    """A board's REPL in raw mode, entered without a soft reset, so that nothing the board
    runs starts again until reset() says so."""

    def __init__(self, port, timeout_s=5.0):
        self.port = port
        try:
            # The read timeout lets a board that stops answering fail a read instead of
            # blocking it for ever; mpremote's own per-exchange timeouts do the rest.
            self.transport = BoardTransport(port, timeout=1.0)
        except TransportError as e:
            raise DeployError("no board on %s: cannot open it (%s)" % (port, e))
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints what it got
                self.transport.enter_raw_repl(soft_reset=False, timeout_overall=timeout_s)
            self.transport.exec(_BOARD_HELPERS)
        except (TransportError, serial.SerialException, OSError):
            self.close()
            raise DeployError("no board answers on %s: no MicroPython REPL within %g s (is it "
                              "the board's REPL port, and is nothing else using it?)"
                              % (port, timeout_s))
        self.transport.feeding = True

    def info(self):
        name, version, mpy, platform = self.transport.eval(
            "(sys.implementation.name, tuple(sys.implementation.version), "
            "getattr(sys.implementation, '_mpy', 0), sys.platform)")
        return BoardInfo(name, tuple(version), mpy, platform)

    def reset(self):
        """Reset so that main.py runs: machine.reset() where the port has it, else a soft
        reset from the friendly REPL (Ctrl-B, Ctrl-D), which bench boards honour too."""
        t = self.transport
        if t.eval("_pe_can_reset()"):
            t.exec_raw_no_follow("import machine\nmachine.reset()")
        else:
            t.exit_raw_repl()
            t.serial.write(b"\x04")
        t.in_raw_repl = False

    def console(self):
        """What the board printed on its REPL since last asked ("" once the port is gone)."""
        try:
            waiting = self.transport.serial.in_waiting
            return self.transport.serial.read(waiting).decode(errors="replace") if waiting else ""
        except (serial.SerialException, OSError, TypeError):
            return ""

    def close(self):
        with contextlib.suppress(serial.SerialException, OSError):
            self.transport.close()


class BoardFlash:
    """The flash of a Board, as pilotedge.deploy.install() uses a flash."""

    def __init__(self, board):
        self._t = board.transport
        try:
            self._t.exec("import hashlib\nhashlib.sha256")
            self.sha256 = True
        except TransportExecError:
            self.sha256 = False  # the board cannot hash: everything is written

    def hashes(self, folder):
        if not self.sha256:
            return {}
        paths = self._t.eval("_pe_files(%r)" % folder)
        return {p[len(folder) + 1:]: self._t.fs_hashfile(p, "sha256") for p in paths}

    def hash(self, path):
        if not self.sha256 or not self._t.fs_exists(path):
            return None
        return self._t.fs_hashfile(path, "sha256")

    def exists(self, path):
        return self._t.fs_exists(path)

    def makedirs(self, folder):
        self._t.exec("_pe_mkdirs(%r)" % folder)

    def write(self, path, data):
        self._t.fs_writefile(path, data, chunk_size=_CHUNK)

    def copy(self, src, dst):
        self._t.exec("_pe_copy(%r, %r)" % (src, dst))

    def rename(self, src, dst):
        self._t.exec("os.rename(%r, %r)" % (src, dst))

    def remove(self, path):
        self._t.exec("_pe_rm(%r)" % path)

    def records(self, prefix):
        """Names of the files at the root whose content starts with prefix (bytes)."""
        return self._t.eval("_pe_records(%r)" % prefix)
