"""The plants must run unchanged in the MicroPython unix port and give CPython's numbers.

One driver script (10 simulated minutes of both plants at the bench's 0.1 s step, with every
input switched at least once) runs under both interpreters; the outputs must agree to 1e-6.
No timing is asserted here: tools/bench/plant.py prints the cost per step.
"""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"

DRIVER = """
import sys
sys.path.insert(0, {firmware!r})
from sim.canister import CanisterPlant
from sim.vessel import VesselPlant

vessel = VesselPlant({{"temp0_c": 30.0}})
canister = CanisterPlant({{"soc0": 0.2}})
vessel.heater_w = 300.0
vessel.acid_ml_per_min = 5.0
canister.inlet_open = True
canister.supply_bar = 20.0
canister.leak_nml_per_min_at_ref = 100.0
for step in range(6000):
    minute = step // 600
    if step % 600 == 0:
        vessel.aeration = minute < 3
        canister.regulator_failed = minute >= 5
        canister.inlet_open = minute < 7
        canister.draw_nl_per_min = 2.0 if minute >= 7 else 0.0
        canister.ambient_c = 20.0 + minute
        if minute == 5:
            vessel.acid_ml_per_min = 0.0
            vessel.base_ml_per_min = 5.0
    vessel.step(0.1)
    canister.step(0.1)
    if step % 1200 == 1199:
        for name in ("ph", "temp_c", "orp_mv_agcl", "fe2_g_per_l", "fe3_g_per_l",
                     "biomass_cells_per_ml", "volume_l", "acid_added_ml", "base_added_ml"):
            print("vessel", step, name, repr(getattr(vessel, name)))
        for name in ("pressure_bar", "shell_c", "soc", "stored_nl", "gas_nl", "supplied_nl",
                     "drawn_nl", "leaked_nl", "vented_nl"):
            print("canister", step, name, repr(getattr(canister, name)))
"""


def run_driver(interpreter_args, tmp_path):
    script = tmp_path / "drive_plants.py"
    script.write_text(DRIVER.format(firmware=str(ROOT / "firmware")))
    done = subprocess.run(
        interpreter_args + [str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    values = {}
    for line in done.stdout.splitlines():
        plant, step, name, value = line.split()
        values[(plant, int(step), name)] = float(value)
    return values


@pytest.mark.skipif(not MICROPYTHON.exists(), reason="unix-port micropython not built")
def test_plants_give_the_same_numbers_on_micropython_and_cpython(tmp_path):
    expected = run_driver([sys.executable], tmp_path)
    got = run_driver([str(MICROPYTHON), "-X", "heapsize=256k"], tmp_path)
    assert len(expected) == 5 * 18
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], rel=1e-6, abs=1e-12), key
