"""Bench scenarios: a TOML file checked against the board file, handed to the board as JSON.

A scenario sets the plant parameters and initial state, sensor and output imperfections, the
set points (as protocol parameters) and a timeline of faults and disturbances at simulated
times. boards/sim/scenarios/README.md documents every key and event; everything is checked
here, at load, so a typo fails before a 48 h run instead of in its 30th hour.
"""

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pilotproto import messages, schema

from .. import codec, resources
from ..errors import EncodeError, ScenarioError, UnitError

_TOP = ("name", "description", "bench", "ambient", "plant", "inputs", "sensors", "outputs",
        "params", "events")
_BENCH = ("board", "seed", "step_ms", "vessel_step_ms", "ticks_start_ms", "uptime_start_ms",
          "supply_mv", "duration_s", "operator_link")
_AMBIENT = ("mean_c", "swing_k", "period_s", "peak_s")
_SENSOR = ("tau_s", "offset", "noise", "drift_per_h", "slope_pct", "gauge", "reference")
_OUTPUT = ("calibration_error",)

# Event name -> (what "target" names, required arguments, optional arguments). Targets:
# "sensor" / "output" = a sensor / output of a unit in the board file, "vessel" /
# "canister" = a unit name, "plant" = a unit name or "ambient", None = no target.
EVENTS = {
    "sensor_open": ("sensor", (), ()),
    "sensor_short": ("sensor", (), ()),
    "sensor_ok": ("sensor", (), ()),
    "sensor_stuck": ("sensor", (), ("value",)),
    "sensor_drift": ("sensor", ("per_h",), ()),
    "sensor_noise": ("sensor", ("rms",), ()),
    "pump_stuck_on": ("output", (), ()),
    "pump_stuck_off": ("output", (), ()),
    "heater_failure": ("output", (), ()),
    "valve_stuck_open": ("output", (), ()),
    "valve_stuck_closed": ("output", (), ()),
    "output_ok": ("output", (), ()),
    "leak": ("canister", ("nml_per_min",), ()),
    "regulator_failure": ("canister", (), ()),
    "set": ("plant", ("values",), ()),
    "sensor_to_standard": ("sensor", ("standard",), ("temp_c",)),
    "sensor_to_vessel": ("sensor", (), ()),
    "pump_to_cylinder": ("output", (), ()),
    "pump_to_vessel": ("output", (), ()),
    "serial_noise": (None, (), ("flip", "drop", "insert", "direction")),
    "param": (None, ("unit", "name", "value"), ()),
    "command": (None, ("unit", "verb"), ("arg0", "arg1")),
    "reset": (None, (), ()),
    "power_cut": (None, (), ("off_s",)),
    "flash_cut": (None, ("after_bytes",), ("off_s",)),
}
# Carried out by the host (serial line, protocol); the board process only times them.
HOST_EVENTS = ("serial_noise", "param", "command")


@dataclass
class Scenario:
    """A checked scenario: `board` is the parsed board file, `board_json` the payload the
    board process receives, `params` the initial set points as (wire unit, name, value)."""

    name: str
    board_file: Path
    board: dict
    seed: int
    duration_s: float | None
    board_json: dict
    params: list = field(default_factory=list)


def _table(table, where):
    if not isinstance(table, dict):
        raise ScenarioError("%s must be a table" % where)
    return table


def _keys(table, allowed, where):
    if not isinstance(table, dict):
        raise ScenarioError("%s must be a table" % where)
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ScenarioError("%s: unknown key %s (known: %s)"
                            % (where, unknown[0], ", ".join(allowed)))


def _number(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError("%s must be a number, got %r" % (where, value))
    return value


# The unit a key's name gives its value (the plants' and scenarios' naming: temp0_c in degC,
# supply_bar in bar, at_s in seconds), first match; such a value may be written with a unit
# ("1.8 pH", "25 bar", "2 h", "50 %") and is converted to it.
_KEY_UNITS = (
    (re.compile(r"(^|_)ph\d*(_(min|max|opt|ref))?$"), "pH"),
    (re.compile(r"(^|_)soc\d*$"), "dimensionless"),
    (re.compile(r"_nl_per_min$"), "NL/min"),
    (re.compile(r"_per_h$"), "1/hour"),
    (re.compile(r"_c$"), "degC"),
    (re.compile(r"_k$"), "kelvin"),
    (re.compile(r"_bar$"), "bar"),
    (re.compile(r"_mv$"), "mV"),
    (re.compile(r"_ml$"), "mL"),
    (re.compile(r"_nl$"), "NL"),
    (re.compile(r"_l$"), "L"),
    (re.compile(r"_ms$"), "ms"),
    (re.compile(r"_s$"), "s"),
    (re.compile(r"_w$"), "W"),
    (re.compile(r"_pct$"), "percent"),
)


def key_unit(key):
    """The unit a scenario key's name gives its value, or None."""
    for pattern, unit in _KEY_UNITS:
        if pattern.search(key):
            return unit
    return None


def _quantity(key, value, where, unit=None):
    """A value as written, or a string with a unit converted to the unit of `key` (or
    `unit`); ScenarioError where the key names no unit or the unit does not fit."""
    if not isinstance(value, str):
        return value
    unit = unit or key_unit(key)
    if unit is None:
        raise ScenarioError("%s must be a number (its name gives no unit to convert to), got "
                            "%r" % (where, value))
    from .. import units  # pint only for a scenario that writes units

    try:
        number = units.parse(value, unit)
    except UnitError as e:
        raise ScenarioError("%s: %s" % (where, e))
    return int(number) if number.is_integer() else number  # "100 ms" for a whole-ms key


def _quantities(table, where):
    """A table with every value written with a unit converted (see _quantity)."""
    return {k: _quantity(k, v, "%s.%s" % (where, k)) for k, v in table.items()}


class BoardNames:
    """The names a scenario may use, from the board file and the spec's unit kinds."""

    def __init__(self, board):
        # Unit names by kind, and wire unit numbers: the kinds in the spec's order, the units
        # of a kind in board-file order; the board itself is UNIT_BOARD (protocol/README.md).
        self.units = {kind: [] for kind, _section, _at in messages.UNIT_KINDS}
        entries = []
        for kind, section, _at in messages.UNIT_KINDS:
            for unit in board["units"].get(section, ()):
                self.units[kind].append(unit["name"])
                entries.append(unit)
        self.plants = [u["name"] for u in entries]  # every unit has a plant on the bench
        self.unit_numbers = {name: i for i, name in enumerate(self.plants)}
        self.unit_numbers["board"] = messages.UNIT_BOARD
        self.unit_kinds = {n: kind for kind, names in self.units.items() for n in names}
        self.unit_kinds["board"] = "board"
        self.sensors, self.outputs = [], []
        for unit in entries:
            for name in unit.values():
                if name in board["sensors"]:
                    self.sensors.append(name)
                elif name in board["outputs"]:
                    self.outputs.append(name)

    def targets(self, kind):
        plant = self.plants + ["ambient"]
        return {"sensor": self.sensors, "output": self.outputs, "plant": plant, **self.units}[kind]

    def param(self, unit, name, value, where):
        """(wire unit, name, value) of a set point, checked against the spec."""
        kind = self.unit_kinds.get(unit)
        if kind is None:
            raise ScenarioError("%s: unit %r is not on the board (units: %s)"
                                % (where, unit, ", ".join(self.unit_kinds)))
        try:
            spec = codec.param(name)
            value = _quantity(name, value, where + ".value", spec[2])
            codec.param_to_raw(name, _number(value, where + ".value"))
        except EncodeError as e:
            raise ScenarioError("%s: %s" % (where, e))
        if spec[0] != kind:
            raise ScenarioError("%s: %s is a %s parameter, %s is a %s"
                                % (where, name, spec[0], unit, kind))
        return (self.unit_numbers[unit], name, value)


def check_event(names, event, where="event"):
    """A checked copy of one event {"do": name, "target": ..., arguments}."""
    event = dict(event)
    do = event.get("do")
    if do not in EVENTS:
        raise ScenarioError("%s: do = %r is not one of %s" % (where, do, ", ".join(EVENTS)))
    kind, required, optional = EVENTS[do]
    allowed = ("do", "at_s", "target") + required + optional
    _keys(event, allowed if kind else tuple(k for k in allowed if k != "target"), where)
    for key in required:
        if key not in event:
            raise ScenarioError("%s: %s needs %s" % (where, do, key))
    if kind is not None:
        targets = names.targets(kind)
        if event.get("target") not in targets:
            raise ScenarioError("%s: %s needs a target among %s, got %r"
                                % (where, do, ", ".join(targets), event.get("target")))
    if do == "command":
        event.update(_command(names, event, where))
    for key in required + optional:
        if key in event and key not in ("values", "direction", "unit", "name", "verb",
                                        "standard"):
            event[key] = _number(_quantity(key, event[key], "%s.%s" % (where, key)),
                                 "%s.%s" % (where, key))
    if do == "param":
        unit, name, value = names.param(event["unit"], event["name"], event["value"], where)
        event.update(unit=unit, name=name, value=value)
    if do == "set":
        if not isinstance(event["values"], dict):
            raise ScenarioError("%s: set needs values = { input = value, ... }" % where)
        event["values"] = _quantities(event["values"], where + ".values")
    if do == "serial_noise":
        _check_noise(event, where)
    return event


def _check_noise(event, where):
    if event.get("direction", "both") not in ("to_host", "to_board", "both"):
        raise ScenarioError("%s: direction must be to_host, to_board or both" % where)
    for key in ("flip", "drop", "insert"):
        if not 0 <= event.get(key, 0) <= 1:
            raise ScenarioError("%s: %s is a probability per byte, 0..1" % (where, key))


def _enum(enum, value, where):
    members = {name: num for num, name in schema.ENUMS[enum].items()}
    if isinstance(value, str):
        if value not in members:
            raise ScenarioError("%s: %r is not one of %s" % (where, value, ", ".join(members)))
        return members[value]
    return value


def _command(names, event, where):
    # Wire values of a command event: unit number, verb number, arguments by name or number.
    unit = event["unit"]
    if unit not in names.unit_numbers:
        raise ScenarioError("%s: unit %r is not on the board (units: %s)"
                            % (where, unit, ", ".join(names.unit_numbers)))
    verb = event["verb"]
    fields = {"unit": names.unit_numbers[unit], "verb": _enum("VERB", verb, where + ".verb")}
    for index, key in enumerate(("arg0", "arg1")):
        # By name where the spec gives the argument an enum; not range-checked, so that a
        # scenario can drill the board's refusal of an argument out of range.
        try:
            fields[key] = codec.arg_raw(verb, index, event.get(key, 0))
        except codec.EncodeError as e:
            raise ScenarioError("%s.%s: %s" % (where, key, e))
    return fields


def shipped():
    """Names of the scenarios that ship with pilotedge."""
    return sorted(p.stem for p in resources.scenarios_dir().glob("*.toml"))


def find(name):
    """The scenario file `name` means: a path, or the name of a shipped scenario such as
    "fault_drills"."""
    path = Path(name)
    if path.is_file():
        return path
    packaged = resources.scenarios_dir() / (path.stem + ".toml")
    if path.parent == Path(".") and packaged.is_file():
        return packaged
    raise ScenarioError("no scenario file %s: give a TOML file or a shipped scenario (%s)"
                        % (name, ", ".join(shipped())))


def load(name, board_dir=None):
    """Read and check a scenario (a file, or a shipped scenario by name); ScenarioError (one
    line) when anything is off."""
    path = find(name)
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as e:
        raise ScenarioError("cannot read %s: %s" % (path, e.strerror))
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError("%s: %s" % (path, e))
    try:
        return _build(raw, path.stem, board_dir)
    except ScenarioError as e:
        raise ScenarioError("%s: %s" % (path, e))


def _build(raw, default_name, board_dir):
    _keys(raw, _TOP, "scenario")
    bench = raw.get("bench", {})
    _keys(bench, _BENCH, "bench")
    bench = {k: v if k == "board" else _quantity(k, v, "bench." + k) for k, v in bench.items()}
    board_dir = board_dir or resources.boards_dir() / bench.get("board", "sim")
    board_file = Path(board_dir) / "board.json"
    try:
        board = json.loads(board_file.read_text())
    except (OSError, ValueError) as e:
        raise ScenarioError("board file %s: %s" % (board_file, e))
    if board.get("hal") != "sim":
        raise ScenarioError("%s is not a bench board (hal is %r, not 'sim')"
                            % (board_file, board.get("hal")))
    names = BoardNames(board)
    for key in ("seed", "step_ms", "vessel_step_ms", "ticks_start_ms", "uptime_start_ms",
                "supply_mv", "duration_s"):
        if key in bench:
            _number(bench[key], "bench." + key)
    step_ms = bench.get("step_ms", 100)
    vessel_step_ms = bench.get("vessel_step_ms", 1000)
    if not isinstance(step_ms, int) or step_ms <= 0 or not isinstance(vessel_step_ms, int) or (
            vessel_step_ms <= 0 or vessel_step_ms % step_ms):
        raise ScenarioError("bench.step_ms and bench.vessel_step_ms must be whole ms > 0, "
                            "vessel_step_ms a multiple of step_ms")
    if not isinstance(bench.get("operator_link", False), bool):
        raise ScenarioError("bench.operator_link must be true or false")
    ambient = raw.get("ambient", {})
    _keys(ambient, _AMBIENT, "ambient")
    ambient = _quantities(ambient, "ambient")
    plant = raw.get("plant", {})
    _keys(plant, names.plants, "plant")
    inputs = raw.get("inputs", {})
    _keys(inputs, names.targets("plant"), "inputs")
    plant, inputs = ({name: _quantities(_table(t, "%s.%s" % (where, name)),
                                        "%s.%s" % (where, name)) for name, t in tables.items()}
                     for tables, where in ((plant, "plant"), (inputs, "inputs")))
    sensors = raw.get("sensors", {})
    _keys(sensors, names.sensors, "sensors")
    for name, params in sensors.items():
        _keys(params, _SENSOR, "sensors." + name)
    sensors = {name: _quantities(params, "sensors." + name) for name, params in sensors.items()}
    outputs = raw.get("outputs", {})
    _keys(outputs, names.outputs, "outputs")
    for name, params in outputs.items():
        _keys(params, _OUTPUT, "outputs." + name)
    params = []
    for i, p in enumerate(raw.get("params", [])):
        where = "params[%d]" % i
        _keys(p, ("unit", "name", "value"), where)
        for key in ("unit", "name", "value"):
            if key not in p:
                raise ScenarioError("%s needs %s" % (where, key))
        params.append(names.param(p["unit"], p["name"], p["value"], where))
    events = []
    for i, e in enumerate(raw.get("events", [])):
        where = "events[%d]" % i
        if "at_s" not in e:
            raise ScenarioError("%s needs at_s (simulated seconds from the start)" % where)
        event = check_event(names, e, where)
        at_s = _quantity("at_s", event.pop("at_s"), where + ".at_s")
        event["at_ms"] = int(round(_number(at_s, where + ".at_s") * 1000))
        events.append(event)
    events.sort(key=lambda e: e["at_ms"])  # stable: same-time events keep file order
    board_json = {
        "step_ms": step_ms,
        "vessel_step_ms": vessel_step_ms,
        "ticks_start_ms": bench.get("ticks_start_ms", 0),
        "uptime_start_ms": bench.get("uptime_start_ms", 0),
        "supply_mv": bench.get("supply_mv", 3300.0),
        "operator_link": bench.get("operator_link", False),
        "ambient": ambient,
        "plant": plant,
        "inputs": inputs,
        "sensors": sensors,
        "outputs": outputs,
        "events": events,
        # The bench's simulated hardware imports nothing of the firmware or the protocol:
        # it learns the unit kinds of the spec from here.
        "unit_kinds": [[kind, section] for kind, section, _hello in messages.UNIT_KINDS],
    }
    return Scenario(
        name=raw.get("name", default_name),
        board_file=board_file,
        board=board,
        seed=bench.get("seed", 1),
        duration_s=bench.get("duration_s"),
        board_json=board_json,
        params=params,
    )

