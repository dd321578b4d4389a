"""Unit kinds come from one registry: the spec's UNIT_KINDS, each a module units/<kind>.py and
a board-file schema entry. The runtime, the board checker and the bench's names learn the
kinds and the wire numbering from it; the protocol endpoint knows no kind by name, and no
layout is written by hand outside generated code."""

import copy
import json
import re

from rig import Rig

import app
import boardcheck
from mpy import FIRMWARE, REPO
from pilotedge.bench.scenario import BoardNames
from pilotproto import messages as m
from pilotproto import schema as s

SIM = json.loads((REPO / "boards" / "sim" / "board.json").read_text())


def test_every_kind_is_a_module_a_schema_entry_and_telemetry_of_its_message():
    rig = Rig()
    units = {u.KIND: u for u in rig.rt.units}
    for kind, section, at in m.UNIT_KINDS:
        cls = __import__("units." + kind, None, None, ("UNIT_CLASS",)).UNIT_CLASS
        assert cls.KIND == kind and kind in boardcheck._UNIT_SCHEMAS
        assert s.FIELDS[m.MSG_HELLO][at][0] == section
        assert len(units[kind].telemetry) == len(s.FIELDS[cls.MSG_ID])


def test_units_are_numbered_kind_by_kind_in_the_spec_order_the_same_on_board_and_bench():
    board = copy.deepcopy(SIM)
    vessel = board["units"]["vessels"][0]
    board["units"] = {  # canisters first in the file, and two vessels
        "canisters": board["units"]["canisters"],
        "vessels": [vessel, dict(vessel, name="v1")],
    }
    firmware = [entry["name"] for entry, _cls in app.unit_specs(board)]
    assert firmware == ["v0", "v1", "c0"]
    names = BoardNames(board)
    assert [n for n, i in sorted(names.unit_numbers.items(), key=lambda kv: kv[1])] == [
        "v0",
        "v1",
        "c0",
        "board",
    ]
    assert names.unit_numbers["board"] == m.UNIT_BOARD == 255
    assert names.targets("canister") == ["c0"] and names.targets("plant")[-1] == "ambient"


def test_a_board_file_with_an_unknown_unit_section_is_refused_by_name():
    board = copy.deepcopy(SIM)
    board["units"]["meters"] = []
    try:
        boardcheck.validate(board)
    except ValueError as e:
        assert str(e) == "units.meters: unknown key"
    else:
        raise AssertionError("accepted")


def test_the_protocol_endpoint_names_no_unit_kind_and_no_layout_is_hand_written():
    generated = re.compile(r"# BEGIN GENERATED.*?# END GENERATED", re.S)
    for name in ("link.py", "params.py"):
        code = generated.sub("", (FIRMWARE / "runtime" / name).read_text()).lower()
        for word in [k for k, _section, _at in m.UNIT_KINDS] + ["tlm_period"]:
            assert word not in code, (name, word)
    # A struct format or a field offset written by hand: "<...", p + 17, t[3] = ...
    hand = re.compile(r"""["']<[bBhHiIs0-9]+["']|\bp \+ \d|\bt\[\d+\] =|\[0\] \* \d""")
    sources = [
        *(FIRMWARE / "runtime").glob("*.py"),
        *(FIRMWARE / "units").glob("*.py"),
        FIRMWARE / "app.py",
        REPO / "host" / "pilotedge" / "codec.py",
        REPO / "host" / "pilotedge" / "link.py",
    ]
    for path in sources:
        assert not hand.search(path.read_text()), (path, hand.search(path.read_text()))
