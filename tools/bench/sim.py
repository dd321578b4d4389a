"""Virtual bench speed: simulated seconds per wall-clock second, flat out (speed 0).

    .venv/bin/python tools/bench/sim.py [--seconds 10] [--scenario FILE]

The whole bench as `pilotedge bench --speed 0` runs it: the real firmware in the MicroPython
Unix port with the sim HAL, the plants of one sim board (one vessel, one canister), the
relay and the host side, all loops in AUTO (boards/sim/scenarios/vessel_batch_48h.toml).
Measured for one board, one board recording its truth trace, and four boards at once; for
four boards the figure is the slowest board's own speed (each runs in its own process, so on
N cores the four share them). The target is >= 200x for one board with the trace off. Last
line:
    sim: speed_one_board=N speed_one_board_traced=N speed_four_boards=N
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from pilotedge.bench import Bench

REPO = Path(__file__).resolve().parents[2]
WARM_UP_S = 2.0


def measure(scenario, boards, seconds, trace=False):
    """Per-board simulated seconds per wall second over `seconds`, after a warm-up."""
    with tempfile.TemporaryDirectory() as work, Bench(scenario, boards=boards, speed=0,
                                                       workdir=work, fresh=True,
                                                       trace=trace) as bench:
        time.sleep(WARM_UP_S)
        start = [(time.monotonic(), bench.state(i)["now_ms"]) for i in range(boards)]
        time.sleep(seconds)
        speeds = []
        for i, (t0, ms0) in enumerate(start):
            ms1 = bench.state(i)["now_ms"]
            speeds.append((ms1 - ms0) / 1000.0 / (time.monotonic() - t0))
        return speeds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wall seconds per run")
    parser.add_argument("--scenario",
                        default=str(REPO / "boards/sim/scenarios/vessel_batch_48h.toml"))
    args = parser.parse_args()
    print("host: %d cores, scenario %s, %.0f s per run" % (os.cpu_count(), args.scenario,
                                                            args.seconds))
    one = measure(args.scenario, 1, args.seconds)[0]
    print("one board:   %.0f sim s per wall s" % one)
    traced = measure(args.scenario, 1, args.seconds, trace=True)[0]
    print("one board recording its truth trace: %.0f sim s per wall s" % traced)
    four = measure(args.scenario, 4, args.seconds)
    print("four boards: %s sim s per wall s each (sum %.0f)"
          % (", ".join("%.0f" % s for s in four), sum(four)))
    print("sim: speed_one_board=%d speed_one_board_traced=%d speed_four_boards=%d"
          % (one, traced, min(four)))


main()
