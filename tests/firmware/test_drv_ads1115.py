# ADS1115 against a fake I2C register map: exact config bytes, scaling, faults.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from fwcheck import near, raises

from drivers import fault
from drivers.ads1115 import ADS1115
from hal.fake import FakeClock
from hal.fakebus import FakeI2C

ADDR = 0x48


def make(sps=128):
    i2c = FakeI2C({ADDR: {}})
    return i2c, ADS1115(i2c, ADDR, sps)


def test_start_writes_single_shot_config():
    # OS | MUX | PGA | MODE single | DR 128 SPS | comparator disabled  [S46]
    i2c, adc = make()
    adc.start("0-1", 512)  # MUX 000, PGA 100
    adc.start("3", 4096)  # MUX 111, PGA 001
    adc.start("0", 6144)  # MUX 100, PGA 000
    assert i2c.writes == [
        (ADDR, 0x01, bytes([0x89, 0x83])),
        (ADDR, 0x01, bytes([0xF3, 0x83])),
        (ADDR, 0x01, bytes([0xC1, 0x83])),
    ]


def test_data_rate_bits_and_conversion_time():
    i2c, adc = make(sps=860)
    adc.start("2-3", 256)  # MUX 011, PGA 101, DR 111
    assert i2c.writes[-1] == (ADDR, 0x01, bytes([0xBB, 0xE3]))
    for sps in (8, 128, 860):
        conversion_ms = ADS1115(i2c, ADDR, sps).conversion_ms
        # at least one period + 10 % oscillator tolerance, and not wastefully more
        assert 1100 / sps <= conversion_ms <= 1100 / sps + 2, (sps, conversion_ms)
    raises(ValueError, ADS1115, i2c, ADDR, 100)


def test_read_mv_scales_by_full_scale_range():
    i2c, adc = make()
    for raw, fsr_mv, mv in (
        (b"\x40\x00", 512, 256.0),
        (b"\xc0\x00", 512, -256.0),
        (b"\x7f\xff", 4096, 4096 * 32767 / 32768),
        (b"\x80\x00", 256, -256.0),
    ):
        adc.start("0-1", fsr_mv)
        i2c.mem[ADDR][0x00] = raw
        assert adc.read_mv() == mv, (raw, fsr_mv)
        assert adc.fault == fault.NONE


def test_blocking_read_waits_conversion_time():
    i2c, adc = make()
    clock = FakeClock(start_ms=(1 << 30) - 3)  # across the ticks wrap
    i2c.mem[ADDR][0x00] = b"\x10\x00"
    near(adc.read_blocking_mv("1", 2048, clock), 256.0, 1e-9)
    assert clock.elapsed_ms == adc.conversion_ms


def test_read_without_start_is_not_ready():
    _, adc = make()
    assert adc.read_mv() is None
    assert adc.fault == fault.NOT_READY
    adc.start("0", 4096)
    adc.read_mv()
    assert adc.read_mv() is None  # one start, one result
    assert adc.fault == fault.NOT_READY


def test_busy_or_reset_device_is_not_ready():
    i2c, adc = make()
    adc.start("0", 4096)
    i2c.mem[ADDR][0x01] = bytes([0x43, 0x83])  # OS = 0: still converting
    assert adc.read_mv() is None
    assert adc.fault == fault.NOT_READY
    adc.start("0", 4096)
    i2c.mem[ADDR][0x01] = bytes([0x85, 0x83])  # power-on default: the setup was lost
    assert adc.read_mv() is None
    assert adc.fault == fault.NOT_READY


def test_bus_errors_become_fault_not_exception():
    i2c, adc = make()
    i2c.fail = True
    adc.start("0", 4096)
    assert adc.fault == fault.BUS
    assert adc.read_mv() is None
    assert adc.fault == fault.BUS
    i2c.fail = False
    adc.start("0", 4096)
    i2c.fail = True
    assert adc.read_mv() is None
    assert adc.fault == fault.BUS
    absent = ADS1115(FakeI2C({}), 0x49)
    absent.start("0", 4096)
    assert absent.read_mv() is None and absent.fault == fault.BUS


def test_unknown_input_or_range_is_rejected():
    _, adc = make()
    raises(KeyError, adc.start, "1-2", 4096)
    raises(KeyError, adc.start, "0", 5000)
