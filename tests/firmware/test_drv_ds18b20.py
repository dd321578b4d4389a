# DS18B20 against a scripted 1-Wire bus: ROM commands, scratchpad CRC, plausibility rules.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from fwcheck import raises

from drivers import fault
from drivers.ds18b20 import DS18B20
from hal.fakebus import FakeOneWire
from sim.buses import crc8

ROM = bytes([0x28, 0xFF, 0, 0, 0, 0, 0, 0xA1])


def scratchpad(raw, byte6=None, config=0x7F):
    # A genuine part's byte 6 is 0x10 - (LSB & 0x0F); it is 0x0C only at power-on [S55].
    raw &= 0xFFFF
    if byte6 is None:
        byte6 = 0x10 - (raw & 0x0F)
    data = bytearray([raw & 0xFF, raw >> 8, 0x4B, 0x46, config, 0xFF, byte6, 0x10])
    data.append(crc8(data))
    return data


def reading(sensor, ow, data):
    sensor.start()
    ow.to_read = bytearray(data)
    return sensor.read_c()


def test_crc8_matches_datasheet_power_on_scratchpad():
    # The power-on scratchpad printed in countless DS18B20 dumps, CRC 0x1C.
    assert crc8(bytes([0x50, 0x05, 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10])) == 0x1C
    assert scratchpad(0x0550, 0x0C)[8] == 0x1C


def test_skip_rom_and_match_rom_command_bytes():
    ow = FakeOneWire()
    DS18B20(ow).start()
    assert bytes(ow.written) == bytes([0xCC, 0x44])
    ow = FakeOneWire()
    sensor = DS18B20(ow, ROM)
    sensor.start()
    ow.to_read = scratchpad(0x0191)
    sensor.read_c()
    assert bytes(ow.written) == bytes([0x55]) + ROM + bytes([0x44, 0x55]) + ROM + bytes([0xBE])
    assert ow.resets == 2


def test_twelve_bit_values_are_raw_over_16():
    ow = FakeOneWire()
    sensor = DS18B20(ow)
    for raw, t_c in ((0x0191, 25.0625), (0xFF5E, -10.125), (0x07D0, 125.0), (0xFC90, -55.0)):
        assert reading(sensor, ow, scratchpad(raw)) == t_c
        assert sensor.fault == fault.NONE


def test_low_resolution_masks_undefined_bits():
    ow = FakeOneWire()
    # 9 bit (config 0x1F): bits 2..0 undefined, so 0x0197 reads as 0x0190 = 25.0 degC [S54]
    assert reading(DS18B20(ow), ow, scratchpad(0x0197, config=0x1F)) == 25.0


def test_crc_failure_is_rejected():
    ow = FakeOneWire()
    sensor = DS18B20(ow)
    data = scratchpad(0x0191)
    data[0] ^= 0x01
    assert reading(sensor, ow, data) is None
    assert sensor.fault == fault.CRC


def test_bus_held_low_is_rejected_although_its_crc_is_zero():
    ow = FakeOneWire()
    sensor = DS18B20(ow)
    assert crc8(bytes(9)) == 0
    assert reading(sensor, ow, bytes(9)) is None
    assert sensor.fault == fault.BUS


def test_absent_device():
    ow = FakeOneWire()
    ow.present = False
    sensor = DS18B20(ow)
    sensor.start()
    assert sensor.fault == fault.BUS
    assert sensor.read_c() is None and sensor.fault == fault.BUS
    assert bytes(ow.written) == b""  # nothing is sent without a presence pulse


def test_power_on_85_is_rejected_even_near_85():
    ow = FakeOneWire()
    sensor = DS18B20(ow)
    assert reading(sensor, ow, scratchpad(0x0548)) == 84.5
    assert reading(sensor, ow, scratchpad(0x0550, byte6=0x0C)) is None
    assert sensor.fault == fault.RESET_VALUE


def test_85_is_believed_only_after_a_reading_within_1_k():
    ow = FakeOneWire()
    sensor = DS18B20(ow)
    assert reading(sensor, ow, scratchpad(0x0550)) is None  # no previous reading
    assert sensor.fault == fault.RESET_VALUE
    assert reading(sensor, ow, scratchpad(0x01E0)) == 30.0
    assert reading(sensor, ow, scratchpad(0x0550)) is None  # jump from 30 degC
    assert sensor.fault == fault.RESET_VALUE
    assert reading(sensor, ow, scratchpad(0x0548)) == 84.5
    assert reading(sensor, ow, scratchpad(0x0550)) == 85.0
    assert sensor.fault == fault.NONE


def test_failed_conversion_127_94_is_rejected():
    ow = FakeOneWire()
    sensor = DS18B20(ow)
    assert reading(sensor, ow, scratchpad(0x07FF)) is None
    assert sensor.fault == fault.CONVERSION


def test_out_of_datasheet_range_is_rejected():
    ow = FakeOneWire()
    sensor = DS18B20(ow)
    assert reading(sensor, ow, scratchpad(0x07E0)) is None  # 126 degC
    assert sensor.fault == fault.RANGE


def test_read_needs_a_start_and_rom_must_be_a_ds18b20():
    sensor = DS18B20(FakeOneWire())
    assert sensor.read_c() is None and sensor.fault == fault.NOT_READY
    assert sensor.conversion_ms == 750  # 12 bit [S54]
    raises(ValueError, DS18B20, FakeOneWire(), bytes([0x10]) + ROM[1:])  # DS18S20
    raises(ValueError, DS18B20, FakeOneWire(), ROM[:7])
