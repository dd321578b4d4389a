"""The bench's device and sensor tests (test_sim_devices.py), run again in the Unix port that
runs the bench, with firmware/ and protocol/ on sys.path as the board process has them."""

from pathlib import Path

from mpy import FIRMWARE, PROTOCOL, run_micropython

HERE = Path(__file__).resolve().parent
RUNNER = HERE.parent / "firmware" / "mp_runner.py"


def test_device_emulations_pass_on_micropython():
    out = run_micropython(RUNNER, heap="512k", path=[FIRMWARE, PROTOCOL, HERE, RUNNER.parent],
                          args=["test_sim_devices"])
    assert out.splitlines()[-1].startswith("OK test_sim_devices ")
