"""hal/mcu.py builds the right machine.* objects from each real board file.

CPython only: `machine`, `onewire` and `micropython` are replaced by recorders, so the test
checks what the HAL asks the port for (ids, GPIOs, modes), not the port itself.
"""

import importlib
import io
import json
import sys
import time
import types

import pytest

from mpy import REPO
from pilotproto import messages as m


class Recorder:
    """Stands in for a machine class: remembers its constructor arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __eq__(self, other):
        return type(self) is type(other) and (self.args, self.kwargs) == (other.args, other.kwargs)

    def __repr__(self):
        return f"{type(self).__name__}{self.args}{self.kwargs}"


def recorder_module(name, classes, **attrs):
    module = types.ModuleType(name)
    for cls in classes:
        setattr(module, cls, type(cls, (Recorder,), {}))
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


@pytest.fixture
def port(monkeypatch):
    """Fake machine/onewire/micropython modules shaped like the RP2040 port."""
    machine = recorder_module(
        "machine",
        ["Pin", "I2C", "SoftI2C", "SPI", "UART", "WDT"],
        PWRON_RESET=1,
        WDT_RESET=3,
        cause=1,
    )
    machine.Pin.OUT = 1
    machine.reset_cause = lambda: machine.cause
    kbd = []
    micropython = recorder_module("micropython", [], kbd_intr=kbd.append, kbd=kbd)
    for module in (machine, micropython, recorder_module("onewire", ["OneWire"])):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    # MicroPython's time extensions, on a clock that only moves when slept.
    now = [1000]
    sleeps = []

    def sleep_ms(ms):
        sleeps.append(ms)
        now[0] += ms

    for name, fn in (
        ("ticks_ms", lambda: now[0]),
        ("ticks_add", lambda t, d: t + d),
        ("ticks_diff", lambda a, b: a - b),
        ("sleep_ms", sleep_ms),
    ):
        monkeypatch.setattr(time, name, fn, raising=False)
    monkeypatch.delitem(sys.modules, "hal.mcu", raising=False)
    mcu = importlib.import_module("hal.mcu")
    yield types.SimpleNamespace(mcu=mcu, machine=machine, micropython=micropython, sleeps=sleeps)
    sys.modules.pop("hal.mcu", None)


def board(name):
    return json.loads((REPO / "boards" / name / "board.json").read_text())


def test_esp32_devkitc(port):
    pin = port.machine.Pin
    hal = port.mcu.make(board("esp32_devkitc"))
    assert hal.uart == port.machine.UART(
        2, baudrate=115200, tx=pin(17), rx=pin(16), timeout=0, rxbuf=1152
    )
    assert hal.i2c("i2c0") == port.machine.I2C(0, scl=pin(22), sda=pin(21), freq=400000)
    assert hal.i2c("i2c0") is hal.i2c("i2c0")
    assert hal.onewire("ow0") == sys.modules["onewire"].OneWire(pin(4))
    assert hal.pin("acid_pump") == pin(25, 1, value=0)
    assert hal.pin("inlet_valve") == pin(33, 1, value=0)
    assert hal.flash_dir == "" and hal.wdt is None and hal.service() is None
    clock = hal.clock
    clock.sleep_until(clock.ticks_add(clock.ticks_ms(), 250))
    clock.sleep_until(clock.ticks_ms() - 5)  # already past: no sleep
    assert port.sleeps == [250] and clock.ticks_ms() == 1250


def test_the_hal_keeps_no_board_dict(port):
    # The board dict (8 KB on the Unix port) is freed once the runtime is built: the HAL
    # keeps only the bus sections, the pins and the safe levels it makes objects from.
    b = board("esp32_devkitc")
    hal = port.mcu.make(b)
    assert all(v is not b for v in vars(hal).values())
    b.clear()  # what it took still makes the pins and buses the runtime asks for later
    assert hal.pin("heater_ssr") == port.machine.Pin(27, 1, value=0)
    assert hal.onewire("ow0") == sys.modules["onewire"].OneWire(port.machine.Pin(4))


def test_rp2040_pico_and_its_watchdog_limit(port):
    pin = port.machine.Pin
    hal = port.mcu.make(board("rp2040_pico"))
    assert hal.uart.args == (0,) and hal.uart.kwargs["tx"] == pin(0)
    assert hal.i2c("i2c0") == port.machine.I2C(0, scl=pin(5), sda=pin(4), freq=400000)
    assert hal.onewire("ow0") == sys.modules["onewire"].OneWire(pin(2))
    assert [hal.pin(p).args[0] for p in ("acid_pump", "inlet_valve")] == [10, 14]
    hal.start_watchdog(20000)
    assert hal.wdt == port.machine.WDT(timeout=8388)  # RP2040 maximum [S97]


def test_soft_i2c_spi_and_chip_select_from_board_data(port):
    pin = port.machine.Pin
    b = board("esp32_devkitc")
    b["i2c"]["i2c0"]["soft"] = True
    b["spi"]["spi0"] = {"id": 2, "baud": 1000000, "polarity": 0, "phase": 1,
                        "sck": 18, "mosi": 23, "miso": 19}  # fmt: skip
    b["sensors"]["rtd"] = {"driver": "max31865", "bus": "spi0", "cs": "rtd_cs"}
    b["pins"]["rtd_cs"] = 5
    hal = port.mcu.make(b)
    assert hal.i2c("i2c0") == port.machine.SoftI2C(scl=pin(22), sda=pin(21), freq=400000)
    assert hal.spi("spi0") == port.machine.SPI(
        2, baudrate=1000000, polarity=0, phase=1, sck=pin(18), mosi=pin(23), miso=pin(19)
    )
    assert hal.pin("rtd_cs") == pin(5, 1, value=1)  # deselected


def test_reset_cause_maps_the_ports_own_constants(port):
    hal = port.mcu.make(board("rp2040_pico"))
    for cause, expected in ((1, m.RESET_POWER_ON), (3, m.RESET_WATCHDOG), (4, m.RESET_UNKNOWN)):
        port.machine.cause = cause
        assert hal.reset_cause() == expected  # the RP2040 port has no DEEPSLEEP_RESET (4)
    port.machine.DEEPSLEEP_RESET = 4
    assert hal.reset_cause() == m.RESET_DEEPSLEEP


def test_usb_stdio_protocol_port(port, monkeypatch):
    class Poll:
        def register(self, stream, events):
            pass

        def ipoll(self, timeout_ms):
            return iter([(None, 1)] if stdin.buffer.tell() < len(stdin.buffer.getvalue()) else [])

    stdin = types.SimpleNamespace(buffer=io.BytesIO(b"\x00\x03frame"))
    stdout = types.SimpleNamespace(buffer=io.BytesIO())
    monkeypatch.setattr(port.mcu.sys, "stdin", stdin)
    monkeypatch.setattr(port.mcu.sys, "stdout", stdout)
    monkeypatch.setattr(port.mcu.select, "poll", Poll)
    b = board("rp2040_pico")
    b["protocol_port"] = "usb"
    hal = port.mcu.make(b)
    assert port.micropython.kbd == [-1]  # Ctrl-C off: 0x03 is data now
    buf = bytearray(4)
    assert hal.uart.readinto(buf) == 4 and buf == b"\x00\x03fr"
    assert hal.uart.readinto(buf) == 3 and hal.uart.readinto(buf) is None
    assert hal.uart.write(b"\x01\x02") == 2 and stdout.buffer.getvalue() == b"\x01\x02"
    with pytest.raises(SystemExit):
        hal.to_repl()
    assert port.micropython.kbd == [-1, 3]


def test_board_without_pins_is_refused(port):
    with pytest.raises(ValueError, match="pins: required by the mcu HAL"):
        port.mcu.make(board("sim"))
