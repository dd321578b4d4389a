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
