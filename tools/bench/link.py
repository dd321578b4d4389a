"""Host link on a fast bench: false link losses in a simulated hour, and how soon a real loss
is seen, at 1x and 600x.

    .venv/bin/python tools/bench/link.py [--sim-s 3600] [--speeds 600,2000]

False losses: a bench board (vessel_batch_48h) logged by the logger as `pilotedge run` does,
for --sim-s simulated seconds at each speed; counted are the board's LINK_LOST events (it
missed five host heartbeats in its own time) and the host's silent-link gaps (it missed
five board heartbeats in the board's time, at least 2 s). The bench runs as fast as it can
when asked for more (one board: about 500x here), and the figures say what it reached.

Real losses: the relay drops everything towards the board (the host went away, as the
board sees it) or towards the host (the board went away), at 1x and 600x; measured is the
board time until the board's LINK_LOST and the wall time until the host's link is lost.
Last line:
    link: lost_600x=N lost_2000x=N host_lost=N board_1x_s=N board_600x_s=N host_1x_s=N
          host_600x_s=N
(board_*: board seconds until the board saw the host gone; host_*: wall seconds until the
host saw the board gone)
"""

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from pilotedge.bench import Bench
from pilotedge.log_cmd import QUICK_GIL_S
from pilotedge.logger import Logger

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "boards/sim/scenarios/vessel_batch_48h.toml"
_WAIT_S = 120.0


def _wait(predicate, what):
    deadline = time.monotonic() + _WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("link.py: %s did not happen within %.0f s" % (what, _WAIT_S))
        time.sleep(0.005)


def false_losses(speed, sim_s):
    """(board LINK_LOST events, host silent gaps, speed reached) over sim_s simulated s."""
    with tempfile.TemporaryDirectory() as work:
        db = Path(work) / "log.sqlite"
        with Bench(SCENARIO, speed=speed, workdir=Path(work) / "bench", fresh=True) as bench:
            with Logger([str(bench.boards[0].protocol_port)], db, control=False) as logger:
                port = logger.ports[0]
                start_s, t0 = port.hello["uptime"], time.monotonic()
                _wait(lambda: port.link.board_uptime_s() >= start_s + sim_s, "the hour")
                reached = sim_s / (time.monotonic() - t0)
        with sqlite3.connect(db) as con:
            (board,) = con.execute("SELECT count(*) FROM event "
                                   "WHERE code = 'LINK_LOST'").fetchone()
            (host,) = con.execute("SELECT count(*) FROM gaps "
                                  "WHERE kind = 'silent'").fetchone()
    return board, host, reached


def real_loss(speed):
    """(board seconds until the board sees the host gone, wall seconds until the host sees
    the board gone)."""
    with tempfile.TemporaryDirectory() as work:
        db = Path(work) / "log.sqlite"
        with Bench(SCENARIO, speed=speed, workdir=Path(work) / "bench", fresh=True) as bench:
            with Logger([str(bench.boards[0].protocol_port)], db, control=False,
                        listen=True) as logger:
                port = logger.ports[0]
                _wait(lambda: port.health is not None, "a heartbeat")
                # The host's frames stop reaching the board: it must say LINK_LOST.
                cut_s = port.link.board_uptime_s()
                bench.inject(0, "serial_noise", drop=1.0, direction="to_board")
                lost = []
                while not lost:
                    kind, _port, frame = logger.events.get(timeout=_WAIT_S)
                    if kind == "frame" and frame.name == "EVENT":
                        f = frame.fields()
                        if f["code"] == "LINK_LOST":
                            lost.append(f["uptime"] - cut_s)
                # The board's frames stop reaching the host: its link must be lost.
                bench.inject(0, "serial_noise", drop=0.0)
                _wait(lambda: port.state == "up", "the link back")
                t0 = time.monotonic()
                bench.inject(0, "serial_noise", drop=1.0, direction="to_host")
                _wait(lambda: port.state == "silent", "the host seeing the silence")
                return lost[0], time.monotonic() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim-s", type=float, default=3600.0,
                        help="simulated seconds per false-loss run (default 3600)")
    parser.add_argument("--speeds", default="600,2000", help="speeds of the false-loss runs")
    args = parser.parse_args()
    sys.setswitchinterval(QUICK_GIL_S)  # as `pilotedge log` and `run` do
    counts = {}
    host_total = 0
    for speed in (float(s) for s in args.speeds.split(",")):
        board, host, reached = false_losses(speed, args.sim_s)
        counts[speed] = board
        host_total += host
        print("%gx asked, %.0fx reached: %d board LINK_LOST, %d host link losses in %g "
              "simulated s" % (speed, reached, board, host, args.sim_s), flush=True)
    seen = {}
    for speed in (1.0, 600.0):
        seen[speed] = real_loss(speed)
        print("%gx: the board saw the host gone after %.1f board s, the host saw the board "
              "gone after %.2f wall s" % (speed, *seen[speed]), flush=True)
    print("link: lost_600x=%d lost_2000x=%d host_lost=%d board_1x_s=%.1f "
          "board_600x_s=%.1f host_1x_s=%.2f host_600x_s=%.2f" % (
              counts.get(600.0, -1), counts.get(2000.0, -1), host_total, seen[1.0][0],
              seen[600.0][0], seen[1.0][1], seen[600.0][1]))


if __name__ == "__main__":
    main()
