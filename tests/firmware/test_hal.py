# hal.make() and the fake HAL's own behaviour (the drivers' tests rely on it).
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
import json

from fwcheck import raises

import hal
from hal.fake import FakeClock, FakeHal, FakeReset, FakeUart
from hal.fakebus import FakeI2C, FakeSPI


def sim_board_as_fake():
    with open("boards/sim/board.json") as f:
        board = json.load(f)
    board["hal"] = "fake"
    return board


def test_make_imports_the_module_the_board_names():
    h = hal.make(sim_board_as_fake())
    assert isinstance(h, FakeHal)
    raises(ImportError, hal.make, {"hal": "nosuchhal"})


def test_fake_hal_objects_follow_the_board():
    h = hal.make(sim_board_as_fake())
    assert h.i2c("i2c0") is h.i2c("i2c0")
    assert h.i2c("i2c0").scan() == [72, 73, 74]  # the board's three ADS1115
    raises(KeyError, h.i2c, "i2c9")
    assert h.onewire("ow0").reset()
    assert h.pin("acid_pump").value() == 0 and h.pin("acid_pump") is h.pin("acid_pump")
    assert h.wdt is None
    h.start_watchdog(5000)
    h.wdt.feed()
    assert h.wdt.feeds == 1 and h.wdt.timeout_ms == 5000
    assert h.reset_cause() == 0  # RESET_POWER_ON
    raises(FakeReset, h.reset)
    raises(SystemExit, h.to_repl)


def test_fake_clock_wraps_like_micropython_ticks():
    clock = FakeClock((1 << 30) - 10)
    t = clock.ticks_add(clock.ticks_ms(), 30)
    assert t == 20
    assert clock.ticks_diff(t, clock.ticks_ms()) == 30
    assert clock.ticks_diff(clock.ticks_ms(), t) == -30
    clock.sleep_until(t)
    assert clock.ticks_ms() == 20 and clock.elapsed_ms == 30 == clock.wall_ms()
    clock.sleep_until(5)  # in the past: returns at once
    assert clock.ticks_ms() == 20


def test_fake_i2c_uart_spi():
    i2c = FakeI2C({0x48: {1: b"\x12"}})
    buf = bytearray(2)
    i2c.readfrom_mem_into(0x48, 1, buf)
    assert buf == bytearray(b"\x12\x00")
    raises(OSError, i2c.writeto_mem, 0x50, 0, b"\x00")
    uart = FakeUart()
    assert uart.readinto(buf) is None
    uart.feed(b"abc")
    assert uart.readinto(buf) == 2 and buf == bytearray(b"ab")
    assert uart.readinto(buf) == 1 and uart.write(b"xyz") == 3 and uart.tx == bytearray(b"xyz")
    spi = FakeSPI()
    spi.write(b"\x83\x01\x02")
    rx = bytearray(3)
    spi.write_readinto(b"\x03\x00\x00", rx)
    assert rx[1:] == bytearray(b"\x01\x02") and spi.writes == [b"\x83\x01\x02"]
