"""Heap bytes allocated per call by the vessel's per-cycle control checks (prints figures).

    .venv/bin/python tools/bench/control_alloc.py [--board32]

Runs each hot-path call of firmware/control/ (alarm.py, plausible.py, doseguard.py,
phcal.py, steady.py) 1000 times under MicroPython with the collector off and prints
gc.mem_alloc() growth per call. The int paths (alarms, plausibility, dose limits: wire units
and ms) should allocate nothing; the float paths (pH from mV, the calibration stability
detector) allocate their boxed floats: one heap block each, 16 bytes on a 32-bit port and
32 on the 64-bit Unix port (floats are heap objects on the ESP32 and RP2040 ports too).
--board32 runs it on the 32-bit Unix port built from tools/micropython-src/
(tools/build_micropython.py), where ints at or above 2**30 would allocate as on a board.
Last line:
    control_alloc: alarm=N limiter=N sensor_check=N no_response=N twin_check=N \
dose_advance=N dose_check=N ph_cal=N steady=N
(bytes per call).
"""

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tools"))
import build_micropython  # noqa: E402
from mpy import FIRMWARE, MICROPYTHON, run_micropython  # noqa: E402

SCRIPT = """
import gc
from control.alarm import Alarm, Limiter
from control.doseguard import DoseLine
from control.phcal import PhCal
from control.plausible import NoResponse, SensorCheck, TwinCheck
from control.steady import Steady

N = 1000
lim = Limiter()
alarm = Alarm(2300, 50, 5000, limiter=lim)
check = SensorCheck(-1000, 15000, 5000, 100, 50, 30)
resp = NoResponse(20000, 10, -1, 120000)
twin = TwinCheck(5000, 500, 200)
line = DoseLine()
line.set_limits(50000, 100000, 500000, 60000, 300000, 200000)
cal = PhCal(97.0, 12.0, 93.0, 19.0, 4.0)
steady = Steady(10.0, 0.5)


def per_call(name, call):
    call(0)  # warm
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for i in range(N):
        call(i)
    b = gc.mem_alloc()
    gc.enable()
    print(name, (b - a) // N)


per_call("alarm", lambda i: alarm.feed(2250 + (i % 100), 1000))
per_call("limiter", lambda i: lim.advance(1000))
per_call("sensor_check", lambda i: check.update(1700 + (i % 7), 1000))
per_call("no_response", lambda i: resp.update(1700 - (i % 3), 20, 1000))
per_call("twin_check", lambda i: twin.update(3500 + (i % 5), 3510))
per_call("dose_advance", lambda i: line.advance(1000))
per_call("dose_check", lambda i: line.check(10000, None))
per_call("ph_cal", lambda i: cal.ph(327.5, 35.0))  # pH 1.7: the acid line only
per_call("steady", lambda i: steady.update(183.81, 1.0))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board32", action="store_true", help="the 32-bit Unix port")
    args = parser.parse_args()
    mp = build_micropython.plain() if args.board32 else MICROPYTHON
    out = run_micropython(SCRIPT, heap="1m", path=[FIRMWARE], micropython=mp)
    figures = [line.split() for line in out.splitlines()]
    print("MicroPython:", mp)
    for name, value in figures:
        print("%-13s %4s bytes/call" % (name, value))
    print("control_alloc: " + " ".join("%s=%s" % (name, value) for name, value in figures))


if __name__ == "__main__":
    main()
