# pilotedge bench: the board's REPL on a socket, with the raw REPL that mpremote drives (MIT).
#
# The Unix port's own REPL has no raw mode, so this serves one from the board's service(), next to
# the running firmware (as aiorepl does on a board). Byte protocol as pyexec.c and
# mpremote/transport_serial.py: Ctrl-A enters raw mode ("raw REPL; CTRL-B to exit\r\n>"),
# code up to Ctrl-D is answered "OK", stdout, "\x04", the traceback, "\x04", ">"; an empty
# Ctrl-D in raw mode (or Ctrl-D at the friendly prompt) is a soft reset. Raw-paste mode, which
# mpremote asks for with "\x05A\x01", is offered as a board offers it ("R\x01", the window
# size, a "\x01" for every window taken, "\x04" at the end of the code): without its flow
# control mpremote sleeps 10 ms after every 256 bytes it sends. Ctrl-B leaves raw mode,
# Ctrl-C clears the input line. While a raw-mode client is talking, poll() keeps serving it
# until it has been quiet for _LINGER_MS, as a board whose firmware a Ctrl-C stopped serves
# its REPL: one exchange then costs a round trip, not a firmware pass (or the 100 ms idle
# sleep of a board without firmware).
#
# Code runs with the board's flash folder mounted as "/" (the process's cwd is that folder
# too), so `fs ls`, `fs cat`, `cp` and absolute paths see the flash as on a board. What the
# board prints there (a crash of main.py) is held back while a raw-REPL client is talking,
# so it cannot corrupt mpremote's framing. Code runs to completion: the firmware
# and the sim clock stand still meanwhile, and Ctrl-C cannot interrupt it.

import io
import os
import sys

import vfs

from sim.common import const

_CTRL_A = const(1)
_CTRL_B = const(2)
_CTRL_C = const(3)
_CTRL_D = const(4)
_CTRL_E = const(5)
_BACKSPACE = (8, 127)
_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"
_BANNER = (
    b"MicroPython on the pilotedge virtual bench (unix port)\r\n"
    b'Type "help()" for more information.\r\n>>> '
)
_HELD_MAX = const(4096)  # console bytes kept while raw mode is busy; older ones are dropped
_PASTE_WINDOW = const(1024)  # raw-paste flow control: bytes the client may send per "\x01"
_LINGER_MS = const(50)  # real ms a raw-mode client may pause before the firmware runs again


_print = print


class FlashVfs:
    """The flash folder as a board's root filesystem: VfsPosix, plus file sizes in
    ilistdir() as FAT and littlefs report them (mpremote's `fs ls` prints them)."""

    def __init__(self, folder):
        self._vfs = vfs.VfsPosix(folder)  # type: ignore[attr-defined]  # Unix port only

    def ilistdir(self, path):
        base = path.rstrip("/") + "/" if path else ""
        for entry in self._vfs.ilistdir(path):
            yield (entry[0], entry[1], entry[2], self._vfs.stat(base + entry[0])[6])

    def __getattr__(self, name):
        return getattr(self._vfs, name)


class Repl(io.IOBase):
    """The console stream (print and sys.print_exception write here) and the REPL server."""

    def __init__(self, stream, flash_dir, raw, soft_reset):
        # stream: non-blocking socket-like object with readinto(), wait(ms) and a blocking
        # send(data) helper (see sim/hardware.py); soft_reset(raw): called for a soft reset,
        # never returns.
        self._stream = stream
        self._soft_reset = soft_reset
        self.raw = raw
        self._rx = bytearray(256)
        self._line = bytearray()
        self._last = 0  # previous friendly-mode byte, to take CR LF as one Enter
        self._held = bytearray()
        self._tx = bytearray()  # console output not yet sent (see flush)
        self._executing = False
        self._paste = -1  # raw-paste mode: bytes taken of the current window; -1: not pasting
        # The REPL's code prints to this console (no builtin is replaced).
        self._globals = {"__name__": "__main__", "print": self.print}
        self._flash_dir = flash_dir
        self._flash = FlashVfs(flash_dir)
        self._root = [v for v, path in vfs.mount() if path == "/"][0]
        if raw:
            self._out(_RAW_BANNER)
            self.flush()

    def poll(self):
        """Handle whatever the client sent; returns at once when nothing arrived, and once
        a raw-mode client has been quiet for _LINGER_MS."""
        stream = self._stream
        n = stream.readinto(self._rx)
        while n:
            for i in range(n):
                c = self._rx[i]
                if self.raw:
                    self._raw_char(c)
                else:
                    self._friendly_char(c)
            self.flush()
            n = stream.readinto(self._rx)
            if not n and self.raw and stream.wait(_LINGER_MS):
                n = stream.readinto(self._rx)

    # ---- console output --------------------------------------------------------------------

    def _out(self, data):
        self._tx.extend(data)

    def flush(self):
        """Send pending console output (called after each REPL action and service pass)."""
        if self._tx:
            data = self._tx
            self._tx = bytearray()
            self._stream.send(data)

    def write(self, buf):
        """Console output: "\\n" becomes "\\r\\n" as on a board's UART/USB console."""
        data = bytes(buf).replace(b"\n", b"\r\n")
        if self.raw and not self._executing:
            held = self._held
            held.extend(data)
            if len(held) > _HELD_MAX:
                self._held = held[len(held) - _HELD_MAX :]
        else:
            self._tx.extend(data)
        return len(buf)

    def print(self, *args, sep=" ", end="\n", file=None):
        """print(), to this console unless told otherwise."""
        _print(*args, sep=sep, end=end, file=file or self)

    # ---- friendly REPL ----------------------------------------------------------------------

    def _friendly_char(self, c):
        line = self._line
        if c == _CTRL_A:
            line[:] = b""
            self.raw = True
            self._out(b"\r\n" + _RAW_BANNER)
        elif c == _CTRL_B:
            line[:] = b""
            self._out(b"\r\n" + _BANNER)
        elif c == _CTRL_C:
            line[:] = b""
            self._out(b"\r\n>>> ")
        elif c == _CTRL_D:
            if not line:
                self._out(b"\r\n")
                self.flush()
                self._soft_reset(False)
        elif c == 13 or (c == 10 and self._last != 13):  # CR, LF or CR LF: one Enter
            self._out(b"\r\n")
            if line:
                self._run(line, True)
                line[:] = b""
            self._out(b">>> ")
        elif c in _BACKSPACE:
            if line:
                line[:] = line[:-1]
                self._out(b"\x08 \x08")
        elif c >= 32:
            line.append(c)
            self._out(bytes((c,)))
        self._last = c

    # ---- raw REPL ---------------------------------------------------------------------------

    def _raw_char(self, c):
        line = self._line
        if self._paste >= 0:
            self._paste_char(c)
        elif c == _CTRL_A:
            if line == b"\x05A":  # raw-paste request
                self._out(b"R\x01" + bytes((_PASTE_WINDOW & 255, _PASTE_WINDOW >> 8)))
                self._paste = 0
            elif len(line) == 2 and line[0] == _CTRL_E:
                self._out(b"R\x00")  # a raw-paste variant this REPL does not know
            else:
                self._out(_RAW_BANNER)
            line[:] = b""
        elif c == _CTRL_B:
            line[:] = b""
            self.raw = False
            self._out(b"\r\n" + _BANNER)
            if self._held:
                self._out(self._held)
                self._held = bytearray()
        elif c == _CTRL_C:
            line[:] = b""
        elif c == _CTRL_D:
            self._out(b"OK")
            if not line:
                self._out(b"\r\n")
                self.flush()
                self._soft_reset(True)
            self._run(line, False)
            line[:] = b""
            self._out(b"\x04>")
        else:
            line.append(c)

    def _paste_char(self, c):
        # Raw-paste mode: everything up to Ctrl-D is code; a "\x01" for every window taken.
        line = self._line
        if c == _CTRL_D:
            self._paste = -1
            self._out(b"\x04")  # end of the code seen
            self._run(line, False)
            line[:] = b""
            self._out(b"\x04>")
            return
        line.append(c)
        self._paste += 1
        if self._paste == _PASTE_WINDOW:
            self._paste = 0
            self._out(b"\x01")

    # ---- running code -----------------------------------------------------------------------

    def _run(self, line, friendly):
        # Friendly mode prints an expression's value; raw mode separates stdout and the
        # traceback with \x04 as pyexec does.
        self._executing = True
        vfs.umount("/")
        vfs.mount(self._flash, "/")
        error = None
        try:
            try:
                code = line.decode()
                if not friendly:
                    exec(code, self._globals)
                else:
                    try:
                        value = eval(code, self._globals)
                    except SyntaxError:
                        exec(code, self._globals)
                    else:
                        if value is not None:
                            self.write(repr(value).encode() + b"\n")
            except BaseException as e:  # noqa: B036 - the REPL reports everything, like pyexec
                error = e
            if not friendly:
                self._out(b"\x04")
            if error is not None:
                sys.print_exception(error, self)
        finally:
            vfs.umount("/")
            vfs.mount(self._root, "/")
            os.chdir(self._flash_dir)  # the remount reset the cwd to "/"
            self._executing = False
