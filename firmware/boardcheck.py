# pilotedge: board-file validation: every key, kind, range and cross-reference (MIT).
#
# The board file is the only place a pin number, bus or channel map lives (boards/README.md
# documents every key). boardfile.load() runs validate() once, so that the HAL and the units
# can index the dict without checks: a malformed file gives one ValueError naming the key
# path (e.g. "sensors.v0_ph.channel: ..."), never a traceback from deep inside the firmware.
# Unknown keys are errors too: a misspelt "active_hgih" must not silently default.
#
# Needed once per boot, so boardfile imports this module only to validate and then drops it
# from sys.modules: its tables and code (about 17 KB of heap on the 64-bit Unix port) are
# freed before the runtime is built. The deploy tool and the tests run the same checks.

from compat import const
from drivers import ads1115
from pilotproto import messages as m

_STR = const(0)
_INT = const(1)
_NUM = const(2)
_BOOL = const(3)
_DICT = const(4)
_LIST = const(5)
_KIND_NAMES = ("a string", "an integer", "a number", "true or false", "an object", "a list")

# Field specs: key -> kind; a trailing "?" marks an optional key.
_BOARD = {
    "board": _STR,
    "description?": _STR,
    "mcu": _STR,
    "hal": _STR,
    "protocol_port": _STR,
    "uart": _DICT,
    "i2c": _DICT,
    "onewire": _DICT,
    "spi": _DICT,
    "adc": _DICT,
    "sensors": _DICT,
    "outputs": _DICT,
    "units": _DICT,
    "hw_limits": _DICT,
    "watchdog_ms": _INT,
    "watchdog_max_ms?": _INT,
    "heap_bytes?": _INT,
    "pins?": _DICT,
}
_UART = {"id": _INT, "baud": _INT, "tx?": _INT, "rx?": _INT}
_I2C = {"id": _INT, "freq": _INT, "sda?": _INT, "scl?": _INT, "soft?": _BOOL}
_ONEWIRE = {"pin": _STR}
_SPI = {
    "id": _INT,
    "baud": _INT,
    "polarity": _INT,
    "phase": _INT,
    "sck?": _INT,
    "mosi?": _INT,
    "miso?": _INT,
}
_ADC = {"bus": _STR, "addr": _INT, "sps?": _INT}
_ADS_INPUT = {"driver": _STR, "adc": _STR, "channel": _STR, "fsr_mv": _INT}
_SENSORS = {
    "ads1115": dict(_ADS_INPUT, **{"kind": _STR, "supply_channel?": _STR, "range_bar?": _LIST}),
    "ntc": dict(
        _ADS_INPUT,
        **{
            "supply_channel": _STR,
            "r_series_ohm": _NUM,
            "r0_ohm": _NUM,
            "beta_k": _NUM,
            "sh?": _LIST,
            "ntc_side?": _STR,
        },
    ),
    "ds18b20": {"driver": _STR, "bus": _STR, "rom?": _STR},
    "max31865": {
        "driver": _STR,
        "bus": _STR,
        "cs": _STR,
        "r_ref_ohm": _NUM,
        "r0_ohm": _NUM,
        "wires": _INT,
        "filter_hz?": _INT,
    },
}
_ADS_KINDS = ("ph_mv", "orp_mv", "ratiometric")
_TEMP_DRIVERS = ("ds18b20", "max31865", "ntc")
_OUTPUT = {"pin": _STR, "active_high": _BOOL, "deadman_ms": _INT, "window_ms?": _INT}
_VESSEL = {
    "name": _STR,
    "ph": _STR,
    "temp": _STR,
    "orp?": _STR,
    "acid": _STR,
    "base?": _STR,
    "heater": _STR,
    "aeration?": _STR,
    "pump_ml_per_min": _NUM,
    "heater_w": _NUM,
}
_CANISTER = {"name": _STR, "pressure": _STR, "shell": _STR, "ambient?": _STR, "inlet?": _STR}
# The board-file schema entry of each unit kind of the spec (UNIT_KINDS; adding a kind:
# firmware/units/README.md): its fields (numbers must be > 0), its sensor roles and the
# sensor kind each needs ("temp": any thermometer driver), and its output roles, True for
# the one time-proportioned output (a heater), False for a plain on/off one.
_UNIT_SCHEMAS = {
    "vessel": (
        _VESSEL,
        {"ph": "ph_mv", "orp": "orp_mv", "temp": "temp"},
        {"acid": False, "base": False, "heater": True, "aeration": False},
    ),
    "canister": (
        _CANISTER,
        {"pressure": "ratiometric", "shell": "temp", "ambient": "temp"},
        {"inlet": False},
    ),
}
_HW_LIMITS = {"heater_max_pct": _NUM, "pump_max_duty_pct": _NUM, "pressure_msl_max_bar": _NUM}


def _fail(path, message):
    raise ValueError((path or "board") + ": " + message)


def _join(path, key):
    return path + "." + key if path else key


def _is(value, kind):
    # bool is an int on CPython (not on MicroPython): never accept it as a number.
    if kind == _STR:
        return isinstance(value, str)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _DICT:
        return isinstance(value, dict)
    if kind == _LIST:
        return isinstance(value, list)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (kind == _NUM and isinstance(value, float))


def _fields(obj, path, spec):
    # Check obj against a field spec: an object, no unknown keys, required keys present,
    # every value of its kind.
    if not isinstance(obj, dict):
        _fail(path, "must be an object")
    for key in obj:
        if key not in spec and key + "?" not in spec:
            _fail(_join(path, key), "unknown key")
    for spec_key, kind in spec.items():
        key = spec_key.rstrip("?")
        if key not in obj:
            if spec_key == key:
                _fail(_join(path, key), "missing")
            continue
        if not _is(obj[key], kind):
            _fail(_join(path, key), "must be " + _KIND_NAMES[kind])


def _one_of(value, allowed, path):
    # Returns value when it is in allowed (a tuple, or a dict's keys).
    try:
        known = value in allowed
    except TypeError:  # unhashable, e.g. a list where a name belongs
        known = False
    if not known:
        names = ", ".join(str(a) for a in sorted(allowed))
        _fail(path, "%r is not one of %s" % (value, names))
    return value


def _positive(value, path):
    if value <= 0:
        _fail(path, "must be > 0")


def _ref(board, section, name, path):
    if name not in board[section]:
        _fail(path, "%r is not in %s" % (name, section))


def _entries(board, section, spec):
    # Check every entry of a section against one spec; returns [(name, entry, path)].
    checked = []
    for name, entry in board[section].items():
        path = section + "." + name
        _fields(entry, path, spec)
        checked.append((name, entry, path))
    return checked


def validate(board):
    _fields(board, "", _BOARD)
    _one_of(board["protocol_port"], ("uart", "usb"), "protocol_port")
    _positive(board["watchdog_ms"], "watchdog_ms")
    _positive(board.get("heap_bytes", 1), "heap_bytes")
    if board["watchdog_ms"] > board.get("watchdog_max_ms", board["watchdog_ms"]):
        _fail("watchdog_ms", "exceeds watchdog_max_ms")
    _buses(board)
    _sensors(board)
    for _, entry, path in _entries(board, "outputs", _OUTPUT):
        _positive(entry["deadman_ms"], path + ".deadman_ms")
        if "window_ms" in entry:
            _positive(entry["window_ms"], path + ".window_ms")
    _units(board)
    limits = board["hw_limits"]
    _fields(limits, "hw_limits", _HW_LIMITS)
    for key in ("heater_max_pct", "pump_max_duty_pct"):
        if not 0 <= limits[key] <= 100:
            _fail("hw_limits." + key, "must be within 0 ... 100")
    _positive(limits["pressure_msl_max_bar"], "hw_limits.pressure_msl_max_bar")
    if "pins" in board:
        _pins(board)


def _buses(board):
    for _, entry, path in _entries(board, "uart", _UART):
        _positive(entry["baud"], path + ".baud")
    if board["protocol_port"] == "uart":
        _ref(board, "uart", "protocol", "protocol_port")
    for _, entry, path in _entries(board, "i2c", _I2C):
        _positive(entry["freq"], path + ".freq")
    _entries(board, "onewire", _ONEWIRE)
    for _, entry, path in _entries(board, "spi", _SPI):
        _positive(entry["baud"], path + ".baud")
        _one_of(entry["polarity"], (0, 1), path + ".polarity")
        _one_of(entry["phase"], (0, 1), path + ".phase")
    for _, entry, path in _entries(board, "adc", _ADC):
        _ref(board, "i2c", entry["bus"], path + ".bus")
        _one_of(entry["addr"], (0x48, 0x49, 0x4A, 0x4B), path + ".addr")
        _one_of(entry.get("sps", 128), ads1115.SPS, path + ".sps")


def _sensors(board):
    roms = {}  # 1-Wire bus -> list of ROM codes ("" = Skip ROM)
    for name, entry in board["sensors"].items():
        path = "sensors." + name
        driver = entry.get("driver") if isinstance(entry, dict) else None
        driver = _one_of(driver, _SENSORS, path + ".driver")
        _fields(entry, path, _SENSORS[driver])
        if "adc" in entry:
            _ads_input(board, entry, path)
        elif driver == "ds18b20":
            _ref(board, "onewire", entry["bus"], path + ".bus")
            roms.setdefault(entry["bus"], []).append(_rom(entry.get("rom", ""), path + ".rom"))
        else:
            _ref(board, "spi", entry["bus"], path + ".bus")
            _one_of(entry["wires"], (2, 3, 4), path + ".wires")
            _one_of(entry.get("filter_hz", 50), (50, 60), path + ".filter_hz")
            _positive(entry["r_ref_ohm"], path + ".r_ref_ohm")
            _positive(entry["r0_ohm"], path + ".r0_ohm")
    for bus, codes in roms.items():
        if "" in codes and len(codes) > 1:
            _fail("onewire." + bus, "a sensor without rom (Skip ROM) must be alone on its bus")
        if len(set(codes)) != len(codes):
            _fail("onewire." + bus, "two sensors share a rom")


def _ads_input(board, entry, path):
    _ref(board, "adc", entry["adc"], path + ".adc")
    _one_of(entry["channel"], ads1115.MUX, path + ".channel")
    _one_of(entry["fsr_mv"], ads1115.PGA, path + ".fsr_mv")
    supply = entry.get("supply_channel")
    if supply is not None:
        _one_of(supply, ads1115.MUX, path + ".supply_channel")
        if supply == entry["channel"]:
            _fail(path + ".supply_channel", "must differ from channel")
    if entry["driver"] == "ntc":
        for key in ("r_series_ohm", "r0_ohm", "beta_k"):
            _positive(entry[key], path + "." + key)
        _one_of(entry.get("ntc_side", "low"), ("low", "high"), path + ".ntc_side")
        sh = entry.get("sh")
        if sh is not None and (len(sh) != 3 or not all(_is(c, _NUM) for c in sh)):
            _fail(path + ".sh", "must be [a, b, c]")
        return
    _one_of(entry["kind"], _ADS_KINDS, path + ".kind")
    if entry["kind"] == "ratiometric":
        if supply is None:
            _fail(path + ".supply_channel", "missing (needed by a ratiometric sensor)")
        span = entry.get("range_bar")
        if span is None or len(span) != 2 or not all(_is(v, _NUM) for v in span):
            _fail(path + ".range_bar", "must be [low, high]")
        elif span[0] >= span[1]:
            _fail(path + ".range_bar", "low must be below high")


def _rom(rom, path):
    # Validate a ROM code in hex; returns it ("" = Skip ROM).
    if rom:
        if len(rom) != 16 or not all(c in "0123456789abcdefABCDEF" for c in rom):
            _fail(path, "must be 16 hex digits")
        # Imported here: only a board with a DS18B20 needs that driver at all.
        from drivers.ds18b20 import FAMILIES

        _one_of(int(rom[:2], 16), FAMILIES, path + " family code")
    return rom


def _sensor_kind(board, name):
    # "temp" for a thermometer, else the ADS input kind.
    entry = board["sensors"][name]
    if entry["driver"] in _TEMP_DRIVERS:
        return "temp"
    return entry["kind"]


def _units(board):
    units = board["units"]
    _fields(units, "units", {section + "?": _LIST for _kind, section, _at in m.UNIT_KINDS})
    names = []
    used_outputs = {}
    for kind, section, _at in m.UNIT_KINDS:
        spec, sensors, outputs = _UNIT_SCHEMAS[kind]
        for i, unit in enumerate(units.get(section, ())):
            path = "units.%s[%d]" % (section, i)
            _fields(unit, path, spec)
            if unit["name"] in names:
                _fail(path + ".name", "%r is used twice" % unit["name"])
            names.append(unit["name"])
            for role, sensor_kind in sensors.items():
                if role in unit:
                    _ref(board, "sensors", unit[role], path + "." + role)
                    if _sensor_kind(board, unit[role]) != sensor_kind:
                        what = "%r is not a %s sensor" % (unit[role], sensor_kind)
                        _fail(path + "." + role, what)
            for role, windowed in outputs.items():
                if role in unit:
                    _unit_output(board, unit[role], windowed, path + "." + role, used_outputs)
            for key, kind_of in spec.items():
                key = key.rstrip("?")
                if kind_of == _NUM and key in unit:
                    _positive(unit[key], path + "." + key)


def _unit_output(board, output, windowed, path, used_outputs):
    _ref(board, "outputs", output, path)
    if output in used_outputs:
        _fail(path, "%r is already %s" % (output, used_outputs[output]))
    used_outputs[output] = path
    # Only a heater is time-proportioned; a pump or valve must be plain on/off.
    if ("window_ms" in board["outputs"][output]) != windowed:
        _fail(path, "window_ms is for the heater output only")


def _pins(board):
    # Physical board: every named pin exists, every bus gives its GPIOs, no GPIO is used twice.
    pins = board["pins"]
    gpios = {}
    for name, gpio in pins.items():
        if not _is(gpio, _INT) or gpio < 0:
            _fail("pins." + name, "must be a GPIO number")
        gpios.setdefault(gpio, []).append("pins." + name)
    for name, entry in board["outputs"].items():
        _ref(board, "pins", entry["pin"], "outputs.%s.pin" % name)
    for name, entry in board["onewire"].items():
        _ref(board, "pins", entry["pin"], "onewire.%s.pin" % name)
    for name, entry in board["sensors"].items():
        if "cs" in entry:
            _ref(board, "pins", entry["cs"], "sensors.%s.cs" % name)
    for section, keys in (("i2c", ("sda", "scl")), ("spi", ("sck", "mosi", "miso"))):
        for name, entry in board[section].items():
            _bus_pins(entry, "%s.%s" % (section, name), keys, gpios)
    if board["protocol_port"] == "uart":
        _bus_pins(board["uart"]["protocol"], "uart.protocol", ("tx", "rx"), gpios)
    for gpio, users in gpios.items():
        if len(users) > 1:
            _fail(users[1], "GPIO %d is also %s" % (gpio, users[0]))


def _bus_pins(entry, path, keys, gpios):
    for key in keys:
        if key not in entry:
            _fail(_join(path, key), "missing (a board with a pins map gives every bus its GPIOs)")
        gpios.setdefault(entry[key], []).append(_join(path, key))
