"""Everything generated from protocol/spec/messages.toml is committed up to date, and the
checks that say so notice a stale file."""

import importlib
import subprocess
import sys

import pytest

from mpy import REPO

TOOLS = REPO / "tools"


@pytest.fixture
def tools(monkeypatch):
    monkeypatch.syspath_prepend(str(TOOLS))
    return importlib.import_module("gen_protocol"), importlib.import_module("make_vectors")


@pytest.mark.parametrize("tool", ["gen_protocol.py", "make_vectors.py"])
def test_generated_files_are_up_to_date(tool):
    done = subprocess.run(
        [sys.executable, str(TOOLS / tool), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_vector_check_notices_a_stale_file(tools, tmp_path, monkeypatch):
    _gen, make_vectors = tools
    for path in make_vectors.OUT_DIR.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    monkeypatch.setattr(make_vectors, "OUT_DIR", tmp_path)
    assert make_vectors.main(["--check"]) == 0
    (tmp_path / "edges.json").write_text("[]\n")
    assert make_vectors.main(["--check"]) == 1


def test_readme_tables_follow_the_spec(tools):
    gen, _make_vectors = tools
    spec = gen.load_spec()
    current = gen.README.read_text()
    assert gen.render_readme(spec, current) == current
    spec["message"][0]["fields"][1]["unit"] = "furlong"
    changed = gen.render_readme(spec, current)
    assert "| fw_major | `B` | furlong |" in changed
    assert changed.split(gen.BEGIN)[0] == current.split(gen.BEGIN)[0]  # prose untouched


def test_field_blocks_follow_the_spec_and_a_stale_one_is_noticed(tools):
    gen, _make_vectors = tools
    spec = gen.load_spec()
    vessel = (gen.FIRMWARE / "units" / "vessel.py").read_text()
    assert gen.render_field_blocks(spec, vessel) == vessel
    assert "_VESSEL_PH = const(1)\n" in vessel and "_VESSEL_NFIELDS = const(26)\n" in vessel
    fields = next(m for m in spec["message"] if m["name"] == "VESSEL")["fields"]
    fields[1], fields[2] = fields[2], fields[1]  # ph and temp swap places on the wire
    changed = gen.render_field_blocks(spec, vessel)
    assert "_VESSEL_PH = const(2)\n" in changed and "_VESSEL_TEMP = const(1)\n" in changed
    stale = gen.outputs(spec)
    assert stale[gen.FIRMWARE / "units" / "vessel.py"] == changed  # what --check compares
    with pytest.raises(gen.SpecError, match="no message NOPE"):
        gen.render_field_blocks(spec, gen.FIELDS_BEGIN + "NOPE\n" + gen.FIELDS_END + "\n")
    with pytest.raises(gen.SpecError, match="lacks"):
        gen.render_field_blocks(spec, gen.FIELDS_BEGIN + "LOG\n_LOG_LEVEL = const(0)\n")


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda s: s["param"][0].update(kind="meter"), "kind 'meter' is not one of"),
        (lambda s: s["verbs"]["PING"].update(units=["meter"]), "unit 'meter' is not one of"),
        (lambda s: s["verbs"]["VALVE"]["arg0"].update(max=1 << 31), "fit the i32 argument"),
        (lambda s: s["verbs"]["DOSE"]["arg0"].update(only=["PUMP"]), "only names members"),
        (lambda s: s["unit"][0].update(section="meters"), "HELLO needs a B field 'meters'"),
        (lambda s: s["unit"].append(dict(s["unit"][0])), "defined twice"),
        (lambda s: s["protocol"].update(progress_ms=20000), "twice within progress_timeout"),
        (lambda s: s["message"][0]["fields"].append({"name": "x", "type": "B"}), None),
    ],
)
def test_spec_rules_for_verbs_and_unit_kinds(tools, break_it, message):
    gen, _make_vectors = tools
    spec = gen.load_spec()
    break_it(spec)
    if message is None:  # a harmless change passes
        gen.validate(spec)
        return
    with pytest.raises(gen.SpecError, match=message):
        gen.validate(spec)


def test_generated_names_must_not_clash(tools):
    gen, _make_vectors = tools
    spec = gen.load_spec()
    spec["enums"]["MSG"] = {"HELLO": 99}  # MSG_HELLO is the HELLO message id already
    with pytest.raises(gen.SpecError, match="clash: MSG_HELLO"):
        gen.validate(spec)


def test_a_spec_values_block_holds_what_its_module_names_and_a_stale_one_is_noticed(tools):
    gen, _make_vectors = tools
    spec = gen.load_spec()
    link = (gen.FIRMWARE / "runtime" / "link.py").read_text()
    assert gen.render_value_blocks(spec, link) == link
    block = link.split(gen.VALUES_BEGIN)[1].split(gen.FIELDS_END)[0]
    assert "_MSG_ACK = const(7)\n" in block and "_VERB_CHECKS = const((\n" in block
    assert "_VERB_VALUES = {\n" in block  # a dict cannot be a const(): it stays a global
    assert "_MSG_VESSEL" not in block  # link.py does not name it
    module = gen.VALUES_BEGIN + "\n" + gen.FIELDS_END + "\n"
    code = "x = _STATE_RUN + _UNIT_BOARD  # _MODE_AUTO in a comment is no use\ny = MESSAGES\n"
    assert gen.render_value_blocks(spec, module + code) == (
        gen.VALUES_BEGIN + "\n_UNIT_BOARD = const(255)\n_STATE_RUN = const(1)\n"
        "# id -> (name, fixed struct format, fixed size, has text tail). A field's raw range\n"
        "# follows from its struct code (framing.RANGES); an Ns string is checked by length.\n"
        + "MESSAGES = " + dict(gen.spec_values(spec))["MESSAGES"][1] + "\n"
        + gen.FIELDS_END + "\n" + code
    )
    attribute = module + "y = m.MESSAGES\n"  # another module's table: nothing to generate
    assert gen.render_value_blocks(spec, attribute) == attribute
    spec["enums"]["STATE"]["RUN"] = 5  # the spec changes: the block no longer matches
    assert "_STATE_RUN = const(5)\n" in gen.render_value_blocks(spec, module + code)
    harness = gen.BENCH / "fw_runtime.py"  # it names _STATE_RUN: --check would fail
    assert gen.outputs(spec)[harness] != harness.read_text()
    with pytest.raises(gen.SpecError, match="defines _STATE_RUN"):
        gen.render_value_blocks(spec, module + "_STATE_RUN = const(1)\n")
    with pytest.raises(gen.SpecError, match="lacks"):
        gen.render_value_blocks(spec, gen.VALUES_BEGIN + "\nx = _STATE_RUN\n")


def test_kind_params_are_the_params_and_order_chains_as_a_board_keeps_them():
    from pilotproto import messages as m

    rows, chains = [], []
    for kind, params, kind_chains in m.KIND_PARAMS:
        for name, lo, hi, default, hw in params:
            hw_key, scale = hw or (None, None)
            rows.append((kind, name, lo, hi, default, hw_key, scale))
        chains += [(kind, tuple(params[i][0] for i in chain)) for chain in kind_chains]
    assert rows == [(k, n, lo, hi, df, hw, hw and s) for k, n, _u, s, lo, hi, df, hw in m.PARAMS]
    assert sorted(chains) == sorted(m.PARAM_ORDER)
