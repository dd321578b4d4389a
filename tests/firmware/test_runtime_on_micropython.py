"""The runtime tests (test_runtime.py, test_commands.py, test_vessel_safety.py) again, under the
MicroPython Unix port.

test_runtime.py builds the whole firmware (runtime, units, drivers, protocol) plus the fake HAL
and test rig, several times per test. On the 64-bit Unix port that bytecode alone needs about
150 KB of heap, roughly twice what the same modules take on a 32-bit board (8-byte pointers
in every code, qstr and dict table), and a board would freeze them into flash; the command
sweep's rig also keeps every pin change (a list of some 30 KB to grow in one piece) and the
rig's world (three ADCs, a flow meter, the plants) comes on top. So this runs with 1 MB;
tools/bench/firmware.py measures what the firmware alone takes.
"""

from pathlib import Path

import pytest

from mpy import FIRMWARE, PROTOCOL, run_micropython

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("module", ["test_runtime", "test_commands", "test_vessel_safety"])
def test_runtime_passes_on_micropython(module):
    out = run_micropython(
        HERE / "mp_runner.py",
        heap="1024k",
        path=[FIRMWARE, PROTOCOL, HERE],
        args=[module],
        timeout_s=300,
    )
    assert out.splitlines()[-1].startswith("OK %s " % module)
