"""What the host knows about a board beyond its frames: the names of its units, which
readings a telemetry frame vouches for, and the units of EVENT values.

Units are numbered as the spec says (protocol/README.md, Units): the spec's unit kinds in
order, the units of a kind in board-file order; the board itself is UNIT_BOARD. Their names
come from the board's file (boards/<board id>/board.json, the id its HELLO carries) when
pilotedge has it and its unit counts match the HELLO; otherwise a unit is named by its kind's
initial and its place (v0, v1, c0), as the shipped board files name them.
"""

import json
from typing import NamedTuple

from pilotproto import messages as m

from . import resources
from .errors import UsageError

BOARD_UNIT = "board"  # the name of UNIT_BOARD

# Which bit of a telemetry frame's sensor_ok vouches for which reading (the spec's field
# comments; the firmware's _SENSOR_* constants). A reading whose bit is clear is not a
# measurement: logged as NULL, shown as "invalid". The spec has no bits enum for sensor_ok.
SENSOR_BITS = {
    "VESSEL": {"ph": 0, "temp": 1, "orp": 2, "fe_ratio": 2},
    "CANISTER": {"pressure": 0, "shell_temp": 1, "ambient_temp": 2, "shell2_temp": 3, "flow": 4},
}
# Readings that another field of the frame declares invalid: field -> (flag field, value
# that means invalid).
INVALID_WHEN = {"CANISTER": {name: ("soc_valid", "INVALID") for name in ("soc", "soc_low",
                                                                          "soc_high")}}

# A unit's `alarms` telemetry bits: bit i is EVENT code ALARM_BASE[kind] + i (the firmware's
# units/vessel.py and units/canister.py _ALARM_BASE).
ALARM_BASE = {"vessel": 20, "canister": 40}

# The unit of an EVENT's value and limit, by event code (the firmware reports them in the
# quantity the alarm watches: units/vessel.py, units/canister.py); codes not listed carry
# counts, indexes or nothing.
EVENT_UNITS = {
    "PH_LOW": "pH", "PH_HIGH": "pH",
    "TEMP_LOW": "degC", "TEMP_HIGH": "degC",
    "ORP_LOW": "mV", "ORP_HIGH": "mV",
    "DOSE_LIMIT": "mL",
    "ACID_LOW": "mL", "BASE_LOW": "mL", "TEMP_TRIP": "degC",
    "PRESSURE_HIGH": "bar", "SHELL_TEMP_HIGH": "degC",
    "LEAK": "percent / h", "TRIP_PREDICTED": "s",
}


class Unit(NamedTuple):
    number: int
    name: str
    kind: str  # a unit kind of the spec, or "board"


def telemetry_message(kind):
    """The message a unit of `kind` reports its telemetry in (VESSEL for vessel)."""
    return kind.upper()


def valid_readings(msg, fields):
    """fields (engineering values by name) with every reading the frame does not vouch for
    set to None."""
    bits = SENSOR_BITS.get(msg)
    invalid = INVALID_WHEN.get(msg)
    if not bits and not invalid:
        return fields
    out = dict(fields)
    ok = fields.get("sensor_ok", 0)
    for name, bit in (bits or {}).items():
        if not ok >> bit & 1:
            out[name] = None
    for name, (flag, bad) in (invalid or {}).items():
        if fields.get(flag) == bad:
            out[name] = None
    return out


def board_file(board_id):
    """The parsed board file of a board id, or None when pilotedge has none."""
    path = resources.boards_dir() / board_id / "board.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def units_of(hello):
    """The units of a board from its HELLO fields: [Unit], the board itself last."""
    counts = [hello[section] for _kind, section, _at in m.UNIT_KINDS]
    named = board_file(hello["board_id"])
    sections = named.get("units", {}) if isinstance(named, dict) else {}
    units = []
    for (kind, section, _at), count in zip(m.UNIT_KINDS, counts, strict=True):
        entries = sections.get(section, [])
        names = [e.get("name") for e in entries] if len(entries) == count else []
        for i in range(count):
            units.append(Unit(len(units), names[i] if names else "%s%d" % (kind[0], i), kind))
    units.append(Unit(m.UNIT_BOARD, BOARD_UNIT, "board"))
    return units


def find_unit(units, text, board_name):
    """The Unit named `text` (a name, or a wire number); UsageError listing the units."""
    for unit in units:
        if text in (unit.name, str(unit.number)):
            return unit
    raise UsageError("board %s has no unit %r (units: %s)" % (
        board_name, text, ", ".join("%s (%s %d)" % (u.name, u.kind, u.number) for u in units)))
