"""Print the cost of one plant step (µs) under the interpreter that runs this script.

Run with the unix port, as the bench does:
    .venv/bin/micropython -X heapsize=256k tools/bench/plant.py
(CPython works too, for comparison). The budget is well under 100 µs per plant step: one
vessel + one canister + the firmware at 10 Hz must run ≥ 200x real time.
"""

import sys

try:
    from time import ticks_diff, ticks_us
except ImportError:  # CPython
    from time import perf_counter_ns

    def ticks_us():
        return perf_counter_ns() // 1000

    def ticks_diff(a, b):
        return a - b


def _firmware_dir():
    # This file is <repo>/tools/bench/plant.py; MicroPython gives __file__ as typed.
    cut = __file__.rfind("/")
    return (__file__[:cut] if cut >= 0 else ".") + "/../../firmware"


sys.path.insert(0, _firmware_dir())

from sim.canister import CanisterPlant  # noqa: E402
from sim.vessel import VesselPlant  # noqa: E402

DT_S = 0.1
STEPS = 20000


def _time_steps(plant):
    t0 = ticks_us()
    for _ in range(STEPS):
        plant.step(DT_S)
    return ticks_diff(ticks_us(), t0) / STEPS


def main():
    vessel = VesselPlant()
    vessel.heater_w = 300.0
    vessel.acid_ml_per_min = 5.0
    canister = CanisterPlant({"soc0": 0.2})
    canister.inlet_open = True
    canister.leak_nml_per_min_at_ref = 50.0
    for name, plant in (("vessel", vessel), ("canister", canister)):
        us = _time_steps(plant)
        print(f"{name:8} {us:.1f} us/step (dt {DT_S} s, {STEPS} steps)")


main()
