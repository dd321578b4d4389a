"""The shared firmware test modules, run again under the real MicroPython interpreter.

A test module in this folder opts in by saying so in its header comment (the MARKER line
below). It must then be plain asserts (no pytest; fwcheck.py has raises/near) so that
mp_runner.py can import it on the Unix port with firmware/ and protocol/ on sys.path, the
way a board imports the modules.
"""

from pathlib import Path

import pytest

from mpy import FIRMWARE, PROTOCOL, run_micropython

MARKER = "# Runs on CPython (pytest) and MicroPython (test_on_micropython.py)."
HERE = Path(__file__).resolve().parent
MODULES = sorted(
    p.stem for p in HERE.glob("test_*.py") if MARKER in p.read_text().splitlines()[:5]
)


def test_the_driver_modules_opt_in():
    drivers = {"test_drv_ads1115", "test_drv_ds18b20", "test_drv_max31865", "test_drv_analog"}
    assert drivers | {"test_drv_outputs", "test_boardfile", "test_hal"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_passes_on_micropython(module):
    out = run_micropython(HERE / "mp_runner.py", path=[FIRMWARE, PROTOCOL, HERE], args=[module])
    assert out.splitlines()[-1].startswith("OK " + module + " ")
