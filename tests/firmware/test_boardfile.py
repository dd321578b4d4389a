# Board-file loading and validation: the shipped boards pass, each mistake names its key.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
# Paths are relative to the repository root, the working directory of both runners.
import json

from fwcheck import raises

import boardfile

BOARDS = ("sim", "esp32_devkitc", "rp2040_pico")


def board(name="sim"):
    with open("boards/%s/board.json" % name) as f:
        return json.load(f)


def error(b):
    return str(raises(ValueError, boardfile.validate, b))


def check(name, mutate, expected):
    # Apply one mistake to a fresh copy of a shipped board; the message must contain expected.
    b = board(name)
    mutate(b)
    message = error(b)
    assert expected in message, "%r not in %r" % (expected, message)


def test_shipped_boards_are_valid():
    for name in BOARDS:
        assert boardfile.load("boards/%s/board.json" % name)["board"] == name


def test_unreadable_and_malformed_files():
    assert "boards/nope/board.json: cannot read" in str(
        raises(ValueError, boardfile.load, "boards/nope/board.json")
    )
    path = "tests/firmware/data/malformed_board.txt"
    assert (path + ": not valid JSON") in str(raises(ValueError, boardfile.load, path))


def test_structure_errors_name_the_key():
    check("sim", lambda b: b.pop("hal"), "hal: missing")
    check("sim", lambda b: b.update(extra=1), "extra: unknown key")
    check("sim", lambda b: b.update(watchdog_ms="5000"), "watchdog_ms: must be an integer")
    check("sim", lambda b: b.update(watchdog_ms=0), "watchdog_ms: must be > 0")
    check("sim", lambda b: b.update(heap_bytes=0), "heap_bytes: must be > 0")
    check("esp32_devkitc", lambda b: b.update(heap_bytes="110k"), "heap_bytes: must be an int")
    b = board("sim")
    b.pop("heap_bytes")  # optional: a board whose heap nobody measured yet
    boardfile.validate(b)
    check("sim", lambda b: b.update(protocol_port="wifi"), "protocol_port: 'wifi' is not one")
    check("sim", lambda b: b["uart"].pop("protocol"), "protocol_port: 'protocol' is not in uart")
    assert error([]) == "board: must be an object"


def test_output_errors():
    acid = lambda b: b["outputs"]["v0_acid"]  # noqa: E731
    check(
        "sim", lambda b: acid(b).update(active_hgih=True), "outputs.v0_acid.active_hgih: unknown"
    )
    check(
        "sim", lambda b: acid(b).update(active_high=1), "outputs.v0_acid.active_high: must be true"
    )
    check("sim", lambda b: acid(b).update(deadman_ms=True), "deadman_ms: must be an integer")
    check(
        "sim", lambda b: acid(b).update(deadman_ms=-1), "outputs.v0_acid.deadman_ms: must be > 0"
    )


def test_sensor_errors():
    ph = lambda b: b["sensors"]["v0_ph"]  # noqa: E731
    pressure = lambda b: b["sensors"]["c0_pressure"]  # noqa: E731
    check("sim", lambda b: ph(b).update(channel="4"), "sensors.v0_ph.channel: '4' is not one of")
    check("sim", lambda b: ph(b).update(fsr_mv=500), "sensors.v0_ph.fsr_mv: 500 is not one of")
    check("sim", lambda b: ph(b).update(driver="ads9999"), "sensors.v0_ph.driver: 'ads9999'")
    check("sim", lambda b: ph(b).update(kind="ph"), "sensors.v0_ph.kind: 'ph' is not one of")
    check("sim", lambda b: ph(b).update(adc="ads9"), "sensors.v0_ph.adc: 'ads9' is not in adc")
    check("sim", lambda b: ph(b).update(channel=["0"]), "sensors.v0_ph.channel: must be a string")
    check("sim", lambda b: b["sensors"].update(v0_ph=5), "sensors.v0_ph.driver: None")
    check("sim", lambda b: pressure(b).pop("supply_channel"), "c0_pressure.supply_channel: miss")
    check("sim", lambda b: pressure(b).update(supply_channel="0"), "must differ from channel")
    check("sim", lambda b: pressure(b).update(range_bar=[40, 0]), "low must be below high")
    check("sim", lambda b: pressure(b).update(range_bar=[0]), "range_bar: must be [low, high]")
    check("sim", lambda b: b["sensors"]["c0_shell"].update(sh=[1, 2]), "c0_shell.sh: must be")
    check("sim", lambda b: b["sensors"]["c0_shell"].update(tau_s="20"), "tau_s: must be a num")
    check("sim", lambda b: pressure(b).update(rate_hz=100), "rate_hz: too fast for the ADC at 250")
    check("sim", lambda b: b["adc"]["ads_canister"].update(sps=64), "too fast for the ADC at 64")
    check("sim", lambda b: b["sensors"]["c0_shell"].update(rate_hz=5), "c0_shell.rate_hz: unkn")
    check("sim", lambda b: b["sensors"].update(c0_ph2=dict(b["sensors"]["v0_orp"], rate_hz=5,
                                                           adc="ads_canister")), "already gives")
    flow = lambda b: b["sensors"]["c0_flow"]  # noqa: E731
    check("sim", lambda b: flow(b).pop("out_mv"), "sensors.c0_flow.out_mv: must be [low, high]")
    check("sim", lambda b: flow(b).update(range_nl_per_min=[5, -5]), "low must be below high")

    def current_loop(b):
        pressure(b).update(kind="current_ma", shunt_ohm=150)
        del pressure(b)["supply_channel"]

    b = board()
    current_loop(b)
    boardfile.validate(b)  # a 4-20 mA transmitter needs no supply channel
    check("sim", lambda b: (current_loop(b), pressure(b).pop("shunt_ohm")), "shunt_ohm: missing")
    check("sim", lambda b: b["adc"]["ads_vessel"].update(addr=80), "adc.ads_vessel.addr: 80 is")
    check("sim", lambda b: b["adc"]["ads_vessel"].update(sps=100), "adc.ads_vessel.sps: 100")


def test_ds18b20_rom_rules():
    temp = lambda b: b["sensors"]["v0_temp"]  # noqa: E731
    check("sim", lambda b: temp(b).update(rom="28ff"), "sensors.v0_temp.rom: must be 16 hex")
    check("sim", lambda b: temp(b).update(rom="28ff00000000zza1"), "must be 16 hex digits")
    check("sim", lambda b: temp(b).update(rom="10ff0000000000a1"), "v0_temp.rom family code")
    check("sim", lambda b: temp(b).update(bus="ow9"), "sensors.v0_temp.bus: 'ow9' is not in")

    def second_sensor(b, rom):
        b["sensors"]["v0_temp2"] = {"driver": "ds18b20", "bus": "ow0", "rom": rom}

    check("esp32_devkitc", lambda b: second_sensor(b, "28aa000000000001"), "alone on its bus")
    check("sim", lambda b: second_sensor(b, "28ff0000000000a1"), "two sensors share a rom")


def test_unit_errors():
    vessel = lambda b: b["units"]["vessels"][0]  # noqa: E731
    canister = lambda b: b["units"]["canisters"][0]  # noqa: E731
    check("sim", lambda b: vessel(b).update(ph="nope"), "units.vessels[0].ph: 'nope' is not in")
    check("sim", lambda b: vessel(b).update(ph="v0_orp"), "vessels[0].ph: 'v0_orp' is not a ph_mv")
    check("sim", lambda b: vessel(b).update(temp="v0_ph"), "vessels[0].temp: 'v0_ph' is not a t")
    check("sim", lambda b: vessel(b).pop("heater"), "units.vessels[0].heater: missing")

    def plain_heater(b):
        b["outputs"]["spare"] = {"pin": "spare", "active_high": True, "deadman_ms": 1000}
        vessel(b)["heater"] = "spare"

    check("sim", plain_heater, "units.vessels[0].heater: window_ms is for the heater output only")
    check("sim", lambda b: vessel(b).update(acid="v0_heater"), "acid: window_ms is for the heater")
    check("sim", lambda b: vessel(b).update(heater_w=0), "units.vessels[0].heater_w: must be > 0")
    check("sim", lambda b: canister(b).update(inlet="v0_acid"), "'v0_acid' is already units.v")
    check("sim", lambda b: canister(b).update(name="v0"), "canisters[0].name: 'v0' is used twice")
    check("sim", lambda b: canister(b).update(pressure="c0_shell"), "not a pressure sensor")
    check("sim", lambda b: canister(b).update(flow="c0_pressure"), "'c0_pressure' is not a flow")
    check("sim", lambda b: canister(b).update(shell2="c0_flow"), "shell2: 'c0_flow' is not a t")
    check("sim", lambda b: canister(b).update(alloy="unobtainium"), "alloy: 'unobtainium' is no")
    check("sim", lambda b: canister(b).pop("ua_w_per_k"), "canisters[0].ua_w_per_k: missing")
    check("sim", lambda b: canister(b).update(alloy_kg=0), "canisters[0].alloy_kg: must be > 0")
    check("sim", lambda b: b["hw_limits"].update(shell_msl_max_c=0), "shell_msl_max_c: must be")
    check("sim", lambda b: b["hw_limits"].update(heater_max_pct=120), "hw_limits.heater_max_pct")


def test_pin_map_rules():
    pins = lambda b: b["pins"]  # noqa: E731
    check("esp32_devkitc", lambda b: pins(b).pop("acid_pump"), "outputs.v0_acid.pin: 'acid_pump'")
    check(
        "esp32_devkitc",
        lambda b: pins(b).update(acid_pump=21),
        "i2c.i2c0.sda: GPIO 21 is also pins.acid_pump",
    )
    check("esp32_devkitc", lambda b: pins(b).update(base_pump=25), "pins.base_pump: GPIO 25 is al")
    check("esp32_devkitc", lambda b: pins(b).update(ow0="4"), "pins.ow0: must be a GPIO number")
    check("esp32_devkitc", lambda b: b["i2c"]["i2c0"].pop("sda"), "i2c.i2c0.sda: missing")
    check("rp2040_pico", lambda b: b["uart"]["protocol"].pop("tx"), "uart.protocol.tx: missing")
    check("rp2040_pico", lambda b: b.update(watchdog_ms=9000), "exceeds watchdog_max_ms")


def test_safe_levels():
    b = board("esp32_devkitc")
    assert boardfile.safe_levels(b)["acid_pump"] == 0
    b["outputs"]["v0_acid"]["active_high"] = False
    assert boardfile.safe_levels(b)["acid_pump"] == 1
    b["sensors"]["rtd"] = {"driver": "max31865", "bus": "spi0", "cs": "rtd_cs"}
    levels = boardfile.safe_levels(b)
    assert levels["rtd_cs"] == 1
    assert "ow0" not in levels  # a 1-Wire data pin is neither an output nor a chip select
    assert len(levels) == 6
