# The bench's chip emulations and sensor physics, driven through the real firmware drivers
# where one exists. Runs on CPython (pytest) and MicroPython (test_sim_on_micropython.py).
from fwcheck import near, raises

import boardfile
from drivers import fault
from drivers.ads1115 import ADS1115 as AdsDriver
from drivers.ds18b20 import DS18B20 as DsDriver
from drivers.max31865 import MAX31865 as RtdDriver
from pilotproto.messages import UNIT_KINDS
from sim import signals
from sim.buses import crc8
from sim.devices import ADS1115, DS18B20, MAX31865, I2CBus, OneWireBus, SimPin, SPIBus
from sim.world import World

BOARD = __file__.rsplit("/", 3)[0] + "/boards/sim/board.json"
KINDS = [[kind, section] for kind, section, _hello in UNIT_KINDS]  # what the host hands over
ROM_A = bytes([0x28, 0xFF, 0, 0, 0, 0, 0, 0xA1])
ROM_B = bytes([0x28, 0xFF, 0, 0, 0, 0, 0, 0xB2])


class Clock:
    # What the chips need of the world: its time, and no trace being recorded.
    def __init__(self):
        self.now_ms = 0
        self.trace = None


class Plant:
    # Stands in for a plant: the attributes sensors read.
    def __init__(self, **values):
        for k, v in values.items():
            setattr(self, k, v)


def adc_on_bus(clock):
    bus = I2CBus()
    adc = bus.devices[0x48] = ADS1115(clock)
    return bus, adc


def test_ads1115_power_on_registers_and_nack():
    bus, _adc = adc_on_bus(Clock())
    buf = bytearray(2)
    for reg, value in ((0, 0), (1, 0x8583), (2, 0x8000), (3, 0x7FFF)):  # [S46]
        bus.readfrom_mem_into(0x48, reg, buf)
        assert buf[0] << 8 | buf[1] == value
    raises(OSError, bus.readfrom_mem_into, 0x49, 0, buf)
    assert bus.scan() == [0x48]


def test_ads1115_differential_reading_through_the_driver():
    clock = Clock()
    bus, adc = adc_on_bus(clock)
    adc.inputs[0] = signals.Fixed(1650.0 + 123.4)
    adc.inputs[1] = signals.Fixed(1650.0)
    driver = AdsDriver(bus, 0x48, 128)
    driver.start("0-1", 512)
    assert driver.read_mv() is None and driver.fault == fault.NOT_READY  # still converting
    driver.start("0-1", 512)
    clock.now_ms += driver.conversion_ms
    near(driver.read_mv(), 123.4, 512 / 32768)
    assert driver.fault == fault.NONE


def test_ads1115_quantises_and_clips_at_full_scale():
    clock = Clock()
    bus, adc = adc_on_bus(clock)
    driver = AdsDriver(bus, 0x48, 860)
    adc.inputs[2] = source = signals.Fixed(0.0)
    for mv, expected in ((600.0, 32767 * 512 / 32768), (-600.0, -512.0), (0.01, 0.0),
                         (100.0, 6400 * 512 / 32768)):
        source.mv = mv
        driver.start("2", 512)
        clock.now_ms += driver.conversion_ms
        assert driver.read_mv() == expected


def test_ads1115_conversion_time_follows_the_data_rate_and_keeps_the_old_result():
    clock = Clock()
    bus, adc = adc_on_bus(clock)
    adc.inputs[3] = source = signals.Fixed(1000.0)
    buf = bytearray(2)
    bus.writeto_mem(0x48, 1, bytes([0xF3, 0x03]))  # OS, AIN3, ±4.096 V, single, 8 SPS
    clock.now_ms = 124
    bus.readfrom_mem_into(0x48, 1, buf)
    assert not buf[0] & 0x80  # OS = 0: converting (125 ms at 8 SPS)
    clock.now_ms = 125
    bus.readfrom_mem_into(0x48, 1, buf)
    assert buf[0] & 0x80
    bus.readfrom_mem_into(0x48, 0, buf)
    first = buf[0] << 8 | buf[1]
    assert first == 8000  # 1000 mV * 32768 / 4096
    source.mv = 2000.0
    bus.writeto_mem(0x48, 1, bytes([0xF3, 0x03]))
    bus.readfrom_mem_into(0x48, 0, buf)
    assert buf[0] << 8 | buf[1] == first  # the new conversion has not ended


def ds_bus(clock, temp_c, rom=ROM_A):
    bus = OneWireBus()
    thermo = signals.Thermometer(clock, 1, {}, Plant(temp_c=temp_c), "temp_c")
    bus.devices.append(DS18B20(clock, rom, thermo))
    return bus, thermo


def test_ds18b20_power_on_scratchpad_reads_85_with_byte6_0x0c():
    bus, _thermo = ds_bus(Clock(), 21.0)
    assert bus.reset()
    bus.writebyte(0xCC)
    bus.writebyte(0xBE)
    pad = bytearray(9)
    bus.readinto(pad)
    assert bytes(pad) == bytes([0x50, 0x05, 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10, 0x1C])  # [S55]
    assert crc8(pad) == 0


def test_ds18b20_convert_takes_750_ms_and_reads_sixteenths():
    clock = Clock()
    bus, thermo = ds_bus(clock, 25.03)
    sensor = DsDriver(bus, ROM_A)
    sensor.start()
    clock.now_ms += 700
    assert sensor.read_c() is None and sensor.fault == fault.RESET_VALUE  # read too early [S56]
    sensor.start()
    clock.now_ms += 750
    assert sensor.read_c() == 25.0  # 25.03 * 16 = 400.5 -> 400
    thermo._src.temp_c = 25.04
    sensor.start()
    clock.now_ms += 750
    assert sensor.read_c() == 25.0625


def test_ds18b20_match_rom_selects_one_of_two_devices():
    clock = Clock()
    bus, _a = ds_bus(clock, 20.0)
    other = signals.Thermometer(clock, 2, {}, Plant(temp_c=30.0), "temp_c")
    bus.devices.append(DS18B20(clock, ROM_B, other))
    assert [bytes(r) for r in bus.scan()] == [ROM_A, ROM_B]
    for rom, expected in ((ROM_A, 20.0), (ROM_B, 30.0)):
        sensor = DsDriver(bus, rom)
        sensor.start()
        clock.now_ms += 750
        assert sensor.read_c() == expected
    both = DsDriver(bus)  # Skip ROM with two devices: both answer, the bus ANDs them
    both.start()
    clock.now_ms += 750
    assert both.read_c() is None and both.fault == fault.CRC


def test_ds18b20_nine_bit_resolution_converts_faster_in_half_degrees():
    clock = Clock()
    bus, _thermo = ds_bus(clock, 25.6)
    bus.reset()
    bus.writebyte(0xCC)
    bus.write(bytes([0x4E, 0x4B, 0x46, 0x1F]))  # TH, TL, config 9 bit
    sensor = DsDriver(bus)
    sensor.start()
    clock.now_ms += 94  # 93.75 ms [S54]
    assert sensor.read_c() == 25.5  # 25.6: the low three bits are not converted


def test_ds18b20_open_and_shorted_sensor_are_bus_faults():
    clock = Clock()
    bus, thermo = ds_bus(clock, 25.0)
    sensor = DsDriver(bus, ROM_A)
    for kind in (signals.OPEN, signals.SHORT):
        thermo.electrical = kind
        sensor.start()
        clock.now_ms += 750
        assert sensor.read_c() is None and sensor.fault == fault.BUS
    assert not bus.scan()
    thermo.clear()
    sensor.start()
    clock.now_ms += 750
    assert sensor.read_c() == 25.0


def rtd_on_bus(clock, temp_c, r0_ohm=100.0):
    bus, cs = SPIBus(), SimPin(clock, 1)
    plant = Plant(temp_c=temp_c)
    rtd = signals.Rtd(clock, 3, {}, plant, "temp_c", r0_ohm)
    bus.devices.append((cs, MAX31865(clock, 430.0, rtd)))
    return bus, cs, plant, rtd


def test_max31865_converts_a_pt100_through_the_driver():
    clock = Clock()
    bus, cs, plant, _rtd = rtd_on_bus(clock, 45.0)
    sensor = RtdDriver(bus, cs, 430.0, 100.0, 2, 50)
    assert sensor.read_c() is None and sensor.fault == fault.NOT_READY
    for t_c in (45.0, -40.0, 300.0):
        plant.temp_c = t_c
        sensor.start()
        clock.now_ms += sensor.conversion_ms  # 62.5 ms at 50 Hz [S58]
        near(sensor.read_c(), t_c, 0.04)  # 1 LSB = 430/32768 ohm = 0.034 K
        assert sensor.fault == fault.NONE
    # Read before the 1-shot ends: the previous result stands.
    plant.temp_c = 20.0
    sensor.start()
    clock.now_ms += 30
    near(sensor.read_c(), 300.0, 0.04)
    # Nobody selected: MISO floats high, a read fails instead of giving a number.
    idle = bytearray(3)
    bus.write_readinto(b"\x01\x00\x00", idle)
    assert idle == bytearray(b"\xff\xff\xff")


def test_max31865_open_and_shorted_rtd_latch_fault_bits():
    clock = Clock()
    bus, cs, _plant, rtd = rtd_on_bus(clock, 25.0)
    sensor = RtdDriver(bus, cs, 430.0, 100.0, 3, 60)
    for kind, code in ((signals.OPEN, fault.OPEN), (signals.SHORT, fault.SHORT)):
        rtd.electrical = kind
        sensor.start()
        clock.now_ms += sensor.conversion_ms
        assert sensor.read_c() is None and sensor.fault == code
    rtd.clear()  # the driver cleared the latched status: the next reading is good again
    sensor.start()
    clock.now_ms += sensor.conversion_ms
    near(sensor.read_c(), 25.0, 0.04)


def test_ph_electrode_follows_nernst_with_slope_offset_and_bias():
    clock = Clock()
    plant = Plant(ph=4.0, temp_c=25.0)
    bias = signals.Fixed(1650.0)
    e = signals.PhElectrode(clock, 1, {}, plant, bias, 3300.0)
    near(e.level() - 1650.0, 0.198421 * 298.15 * 3.0, 1e-9)  # 177.5 mV [S27][S28]
    e = signals.PhElectrode(clock, 1, {"slope_pct": 95.0, "offset": 10.0}, plant, bias, 3300.0)
    near(e.quantity(), 0.95 * 0.198421 * 298.15 * 3.0 + 10.0, 1e-9)
    e.electrical = signals.SHORT
    assert e.level() == 1650.0  # 0 mV: reads as pH 7
    e.electrical = signals.OPEN
    assert e.level() == 3300.0


def test_sensor_lag_drift_stuck_and_seeded_noise():
    clock = Clock()
    plant = Plant(x=0.0)
    s = signals.Sensor(clock, 7, {"tau_s": 10.0}, plant, "x")
    assert s.quantity() == 0.0
    plant.x = 100.0
    clock.now_ms = 10000
    near(s.quantity(), 63.212, 0.001)  # one time constant
    s = signals.Sensor(clock, 7, {"drift_per_h": 2.0}, plant, "x")
    clock.now_ms += 1800000
    near(s.quantity(), 101.0, 1e-9)
    s.set_drift(0.0)
    clock.now_ms += 3600000
    near(s.quantity(), 101.0, 1e-9)  # stopped drifting, the offset gathered stays
    s.stuck = 5.0
    assert s.quantity() == 5.0
    a = signals.Sensor(clock, 7, {"noise": 1.0}, plant, "x")
    b = signals.Sensor(clock, 7, {"noise": 1.0}, plant, "x")
    c = signals.Sensor(clock, 8, {"noise": 1.0}, plant, "x")
    qa = [a.quantity() for _ in range(5)]
    assert qa == [b.quantity() for _ in range(5)]
    assert qa != [c.quantity() for _ in range(5)]
    assert signals.seed_of("v0_ph", 1) != signals.seed_of("v0_orp", 1)


def test_ntc_divider_and_ratiometric_transducer_levels():
    clock = Clock()
    supply = signals.Fixed(3300.0)
    plant = Plant(t=25.0, p=0.0)
    entry = {"r_series_ohm": 10000, "r0_ohm": 10000, "beta_k": 3950}
    low = signals.NtcDivider(clock, 1, {}, plant, "t", supply, entry)
    near(low.level(), 1650.0, 1e-9)  # R_ntc = R0 at 25 degC: half the supply
    plant.t = 60.0
    assert low.level() < 1650.0  # NTC to ground: hotter, lower node
    low.electrical = signals.OPEN
    assert low.level() == 3300.0
    high = signals.NtcDivider(clock, 1, {}, plant, "t", supply, dict(entry, ntc_side="high"))
    assert high.level() > 1650.0
    assert signals.Ratiometric(clock, 1, {}, plant, "p", supply, [0.0, 40.0]).noise > 0.0
    p = signals.Ratiometric(clock, 1, {"noise": 0.0}, plant, "p", supply, [0.0, 40.0])
    near(p.level(), 330.0, 1e-9)  # 0 bar: 10 % [S81]
    plant.p = 40.0
    near(p.level(), 2970.0, 1e-9)  # 40 bar: 90 %
    plant.p = 100.0
    near(p.level(), 0.96 * 3300.0, 1e-9)  # clamped at 96 % [S81b]
    p.electrical = signals.OPEN
    assert p.level() == 0.0
    p.electrical = signals.SHORT
    assert p.level() == 3300.0


def test_current_loop_and_flow_meter_levels():
    clock = Clock()
    plant = Plant(t=25.0, p=10.0)
    loop = signals.CurrentLoop(clock, 1, {"noise": 0.0}, plant, "p",
                               {"range_bar": [0.0, 40.0], "shunt_ohm": 150})
    near(loop.level(), 8.0 * 150, 1e-9)  # 10 bar of 40: 4 + 4 mA
    plant.p = 60.0
    near(loop.level(), 20.5 * 150, 1e-9)  # the output stage holds the NE43 band [S80]
    loop.electrical = signals.OPEN
    assert loop.level() == 0.0
    loop.electrical = signals.SHORT
    assert loop.level() == 25.0 * 150
    entry = {"out_mv": [0, 2500], "range_nl_per_min": [-50.0, 50.0]}
    plant.f = 10.0
    meter = signals.FlowMeter(clock, 1, {"gain_error": 0.01, "offset": 0.1}, plant, "f",
                              signals.Fixed(3300.0), entry)
    near(meter.level(), 1250.0 + (10.0 * 1.01 + 0.1) * 25.0, 1e-9)  # 25 mV per NL/min
    assert meter.true() == 10.0
    plant.f = -80.0
    assert meter.level() == 0.0  # saturated at full reverse scale
    meter.electrical = signals.SHORT
    assert meter.level() == 3300.0  # beyond what the divided output can reach


def test_pin_on_time_is_integrated_for_the_plant():
    clock = Clock()
    pin = SimPin(clock, 0)
    pin.on()
    clock.now_ms = 30
    pin.off()
    clock.now_ms = 70
    pin.value(1)
    assert pin.high_share(100, 100) == 0.6
    assert pin.high_share(200, 100) == 1.0  # still on for the whole next span
    plant = Plant(heater_w=0.0)
    heater = signals.Actuator(pin, False, plant, "heater_w", 300.0)  # active low
    heater.apply(300, 100)
    assert plant.heater_w == 0.0
    heater.forced = 1.0
    heater.apply(400, 100)
    assert plant.heater_w == 300.0


def test_world_wiring_events_and_snapshot_round_trip():
    board = boardfile.load(BOARD)
    scenario = {
        "inputs": {"c0": {"supply_bar": 15.0}},
        "events": [{"at_ms": 1000, "do": "sensor_open", "target": "v0_temp"},
                   {"at_ms": 2000, "do": "param", "unit": 0, "name": "ph_sp", "value": 1.6}],
        "unit_kinds": KINDS,
    }
    world = World(board, scenario, 5)
    world.pin("heater_ssr").on()
    world.advance_to(1500)
    assert world.sensors["v0_temp"].electrical == signals.OPEN
    assert world.outbox == []
    world.advance_to(2500)
    assert world.outbox[0]["do"] == "param"
    assert world.plants["v0"].heater_w == 300.0  # the SSR pin is on
    # the vessel's 1 s is not a multiple of 300 ms
    raises(ValueError, World, board, {"step_ms": 300, "unit_kinds": KINDS}, 5)
    raises(ValueError, World, board, {"events": [{"at_ms": 1, "do": "set", "target": "v0",
                                                  "values": {"no_such_input": 1}}],
                                      "unit_kinds": KINDS}, 5)
    # The SSR pin sets the heater power; a fault says how it goes wrong, not a bare value.
    raises(ValueError, world.apply, {"do": "set", "target": "v0", "values": {"heater_w": 9}})
    world.apply({"do": "heater_failure", "target": "v0_heater"})
    world.advance_to(3000)  # the vessel's next 1 s step
    assert world.plants["v0"].heater_w == 0.0
    twin = World(board, scenario, 5)
    twin.restore(world.snapshot(True))
    after, before = twin.truth(), world.truth()
    assert after.pop("pins")["heater_ssr"] == 0  # a reset drives every output safe
    before.pop("pins")
    assert after == before
    assert twin.adcs["ads_vessel"].state() == world.adcs["ads_vessel"].state()
