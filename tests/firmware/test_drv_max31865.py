# MAX31865 and Callendar-Van Dusen against IEC 60751 values and a fake SPI register file.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from fwcheck import near, raises

from drivers import fault
from drivers.max31865 import MAX31865, cvd_r_ohm, cvd_t_c
from hal.fake import FakePin
from hal.fakebus import FakeSPI

# IEC 60751 PT100 table values (ohm), two decimals [S60]; 45 degC from docs/references.md §3.2.
PT100_TABLE = (
    (-200, 18.52),
    (-100, 60.26),
    (0, 100.0),
    (45, 117.47),
    (100, 138.51),
    (850, 390.48),
)


def test_cvd_forward_matches_iec_table():
    for t_c, r_ohm in PT100_TABLE:
        near(cvd_r_ohm(t_c, 100.0), r_ohm, 0.005)
    near(cvd_r_ohm(45, 1000.0), 1174.70, 0.05)


def test_cvd_inverse_matches_iec_table_and_round_trips():
    for t_c, r_ohm in PT100_TABLE:
        near(cvd_t_c(r_ohm, 100.0), t_c, 0.015)  # table resistances carry 0.005 ohm rounding
    for t_c in range(-200, 851, 25):
        near(cvd_t_c(cvd_r_ohm(t_c, 1000.0), 1000.0), t_c, 1e-6)


def make(wires=2, filter_hz=50):
    spi, cs = FakeSPI(), FakePin(1)
    return spi, cs, MAX31865(spi, cs, 430.0, 100.0, wires, filter_hz)


def set_rtd(spi, r_ohm, fault_flag=0):
    code = round(r_ohm / 430.0 * 32768)
    spi.regs[1] = code >> 7
    spi.regs[2] = (code << 1 | fault_flag) & 0xFF


def test_init_sets_thresholds_then_config_with_fault_clear():
    spi, cs, _ = make()
    high = int(cvd_r_ohm(850, 100) / 430 * 32768) << 1
    low = int(cvd_r_ohm(-200, 100) / 430 * 32768) << 1
    assert spi.writes[0] == bytes([0x83, high >> 8, high & 0xFF, low >> 8, low & 0xFF])
    assert spi.writes[1] == bytes([0x80, 0x83])  # VBIAS | fault clear | 50 Hz
    assert cs.history[-1] == 1


def test_start_triggers_one_shot_with_wiring_and_filter():
    spi, _, rtd = make(wires=3, filter_hz=60)
    rtd.start()
    assert spi.writes[-1] == bytes([0x80, 0xB0])  # VBIAS | 1-shot | 3-wire, 60 Hz
    assert rtd.conversion_ms == 55
    spi, _, rtd = make()
    rtd.start()
    assert spi.writes[-1] == bytes([0x80, 0xA1])
    assert rtd.conversion_ms >= 63  # 62.5 ms at 50 Hz [S58]


def test_read_returns_temperature_within_one_lsb():
    spi, cs, rtd = make()
    for t_c in (45.0, 0.0, -40.0, 300.0):
        rtd.start()
        set_rtd(spi, cvd_r_ohm(t_c, 100.0))
        near(rtd.read_c(), t_c, 0.04)  # 1 LSB = 430/32768 ohm = 0.034 K
        assert rtd.fault == fault.NONE
    assert cs.history[-1] == 1 and 0 in cs.history


def test_fault_bits_are_reported_and_cleared():
    spi, _, rtd = make()
    for status, code in ((0x80, fault.OPEN), (0x08, fault.OPEN), (0x40, fault.SHORT)):
        rtd.start()
        set_rtd(spi, 100.0, fault_flag=1)
        spi.regs[7] = status
        assert rtd.read_c() is None
        assert rtd.fault == code, status
        assert spi.writes[-1] == bytes([0x80, 0x83])  # latched bits cleared [S58]


def test_stuck_bus_and_missing_start():
    spi, _, rtd = make()
    assert rtd.read_c() is None and rtd.fault == fault.NOT_READY
    rtd.start()  # regs all zero: MISO stuck low, no fault flag
    assert rtd.read_c() is None and rtd.fault == fault.BUS
    spi.fail = True
    rtd.start()
    assert rtd.fault == fault.BUS and rtd.read_c() is None
    raises(ValueError, MAX31865, FakeSPI(), FakePin(1), 430.0, 100.0, 5)
