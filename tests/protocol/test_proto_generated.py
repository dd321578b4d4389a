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
    assert "_VESSEL_PH = const(1)\n" in vessel and "_VESSEL_NFIELDS = const(14)\n" in vessel
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
