# pilotedge: the real HAL for ESP32 and RP2040 boards, built from the board file (MIT).
#
# Nothing here knows which board it runs on: bus ids, GPIOs and the protocol port come from
# the board file, the reset-cause constants from the port's own machine module. Buses and
# pins are created on first request and cached, so each is initialised once.

import select
import sys
import time

import machine
import micropython
import onewire

import boardfile
from pilotproto import messages as m

# machine.<name> -> protocol RESET_* value. A port without a name (RP2040 has no
# DEEPSLEEP_RESET or BROWNOUT_RESET) just never reports that cause.
_RESET_CAUSES = (
    ("PWRON_RESET", m.RESET_POWER_ON),
    ("HARD_RESET", m.RESET_HARD),
    ("WDT_RESET", m.RESET_WATCHDOG),
    ("SOFT_RESET", m.RESET_SOFT),
    ("DEEPSLEEP_RESET", m.RESET_DEEPSLEEP),
    ("BROWNOUT_RESET", m.RESET_BROWNOUT),
)
# UART receive buffer: 100 ms of 115200 baud, so a slow scheduler pass drops no bytes.
_UART_RXBUF = 1152


class _Clock:
    # The port's wrap-safe millisecond ticks; wall_ms is the RTC (unset until the host sets it).
    def __init__(self):
        self.ticks_ms = time.ticks_ms
        self.ticks_add = time.ticks_add
        self.ticks_diff = time.ticks_diff

    def sleep_until(self, t_ms):
        d = time.ticks_diff(t_ms, time.ticks_ms())
        if d > 0:
            time.sleep_ms(d)

    def wall_ms(self):
        return time.time_ns() // 1000000


class _StdioPort:
    # The protocol on USB (or console) stdio. Ctrl-C is disabled so that a 0x03 byte inside
    # a frame does not raise KeyboardInterrupt; Hal.to_repl() restores it.
    def __init__(self):
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._byte = bytearray(1)  # reused: stdin is read a byte at a time so it never blocks
        micropython.kbd_intr(-1)

    def _ready(self):
        for _ in self._poll.ipoll(0):  # ipoll does not allocate, unlike poll()
            return True
        return False

    def readinto(self, buf):
        n = 0
        while n < len(buf) and self._ready():
            self._in.readinto(self._byte)
            buf[n] = self._byte[0]
            n += 1
        return n or None

    def write(self, buf):
        return self._out.write(buf)


class Hal:
    def __init__(self, board):
        if "pins" not in board:
            raise ValueError("pins: required by the mcu HAL")
        # What the buses and pins made on request need, taken from the board now: the HAL
        # keeps no reference to the board dict, which is freed once the runtime is built.
        self._buses = {kind: board.get(kind, {}) for kind in ("i2c", "onewire", "spi")}
        self._gpio = board["pins"]
        self._levels = boardfile.safe_levels(board)
        self._wdt_max_ms = board.get("watchdog_max_ms")
        self._made = {}  # (kind, name) -> bus or pin object
        self.clock = _Clock()
        self.wdt = None
        self.flash_dir = ""
        self.fs = None  # the port's own filesystem (runtime.store.OsFs)
        self.uptime_start_ms = 0  # the runtime's uptime at boot
        self.uart = self._protocol_port(board)

    def _protocol_port(self, board):
        if board["protocol_port"] == "usb":
            return _StdioPort()
        cfg = board["uart"]["protocol"]
        return machine.UART(
            cfg["id"],
            baudrate=cfg["baud"],
            tx=machine.Pin(cfg["tx"]),
            rx=machine.Pin(cfg["rx"]),
            timeout=0,
            rxbuf=_UART_RXBUF,
        )

    def _once(self, kind, name, make):
        key = (kind, name)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = make()
        return made

    def i2c(self, bus):
        def make():
            cfg = self._buses["i2c"][bus]
            scl, sda = machine.Pin(cfg["scl"]), machine.Pin(cfg["sda"])
            if cfg.get("soft", False):
                return machine.SoftI2C(scl=scl, sda=sda, freq=cfg["freq"])
            return machine.I2C(cfg["id"], scl=scl, sda=sda, freq=cfg["freq"])

        return self._once("i2c", bus, make)

    def onewire(self, bus):
        def make():
            return onewire.OneWire(machine.Pin(self._gpio[self._buses["onewire"][bus]["pin"]]))

        return self._once("onewire", bus, make)

    def spi(self, bus):
        def make():
            cfg = self._buses["spi"][bus]
            return machine.SPI(
                cfg["id"],
                baudrate=cfg["baud"],
                polarity=cfg["polarity"],
                phase=cfg["phase"],
                sck=machine.Pin(cfg["sck"]),
                mosi=machine.Pin(cfg["mosi"]),
                miso=machine.Pin(cfg["miso"]),
            )

        return self._once("spi", bus, make)

    def pin(self, name):
        # Created already driven to its safe level, so an output never glitches on at boot.
        def make():
            return machine.Pin(self._gpio[name], machine.Pin.OUT, value=self._levels[name])

        return self._once("pin", name, make)

    def start_watchdog(self, timeout_ms):
        # A port maximum in the board file (RP2040: 8388 ms [S97]) shortens, never lengthens.
        if self._wdt_max_ms is not None:
            timeout_ms = min(timeout_ms, self._wdt_max_ms)
        self.wdt = machine.WDT(timeout=timeout_ms)

    def reset_cause(self):
        cause = machine.reset_cause()
        for name, code in _RESET_CAUSES:
            if getattr(machine, name, None) == cause:
                return code
        return m.RESET_UNKNOWN

    def reset(self):
        machine.reset()

    def to_repl(self):
        micropython.kbd_intr(3)
        raise SystemExit

    def service(self):
        pass


def make(board):
    return Hal(board)
