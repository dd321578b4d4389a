"""Alarm floods: the most alarm raises in any 10 minutes of board time, per shipped scenario.

    .venv/bin/python tools/bench/alarms.py [--scenario NAME ...] [--hours H] [--speed X]

Runs each scenario of boards/sim/scenarios/ (the fault drills among them; not the two that
tools/bench/canister.py drives, which have no duration) on the virtual bench with the logger
attached, as `pilotedge run` does, for its whole duration (or its first H hours), and counts
the EVENT frames of kind RAISED by the board's own time: uptime within a boot, boots laid
end to end (a reset or power cut costs the board its clock, not the count). Issue 13's
target: never more than 10 raises in any 10 minutes. Prints each
scenario's count, its busiest window and the codes raised there; last line:
    alarms: max_raises_per_10min=N scenarios=K board_hours=H
"""

import argparse
import collections
import tempfile
import time
import tomllib
from pathlib import Path

from pilotedge import resources
from pilotedge.bench import Bench
from pilotedge.log_cmd import serve
from pilotedge.logger import Logger
from pilotproto import schema as s

WINDOW_S = 600.0
TARGET = 10


def scenarios():
    """The shipped scenarios' names and durations (s, None for one that has no events of its
    own: canister_trips and canister_leak wait for tools/bench/canister.py to drive them),
    sorted by name."""
    found = []
    for path in sorted((resources.boards_dir() / "sim" / "scenarios").glob("*.toml")):
        with open(path, "rb") as f:
            duration_s = tomllib.load(f)["bench"].get("duration_s")
        found.append((path.stem, None if duration_s is None else float(duration_s)))
    return found


def raises_of(name, duration_s, speed):
    """(board time s, code) of every alarm raise in a run of the scenario, and the board
    seconds it covered."""
    raised = []
    clock = {"offset": 0.0, "last": 0.0, "boots": 0}

    def show(item):
        kind, _port, frame = item
        if kind != "frame":
            return
        if frame.name == "HELLO":  # a new boot: its uptime starts again
            clock["offset"] += clock["last"]
            clock["last"] = 0.0
            clock["boots"] += 1
        elif frame.name == "HEARTBEAT":
            clock["last"] = frame.values[s.HEARTBEAT_UPTIME] / 1000
        elif frame.name == "EVENT":
            f = frame.fields()
            if f["kind"] == "RAISED":
                clock["last"] = max(clock["last"], f["uptime"])
                raised.append((clock["offset"] + f["uptime"], f["code"]))

    def done(item):
        return clock["offset"] + clock["last"] >= duration_s

    with tempfile.TemporaryDirectory() as work:
        bench = Bench(name, boards=1, speed=speed, workdir=work, fresh=True)
        try:
            board = bench.start()[0]
            port = str(board.protocol_port)
            logger = Logger([port], Path(work) / "log.sqlite", {port: board.name},
                            listen=True, command="tools/bench/alarms.py")
            logger.start()
            serve(logger, show, done)
        finally:
            bench.stop()
    return raised, clock["offset"] + clock["last"], clock["boots"]


def busiest(raised):
    """(count, start s, codes) of the 10-minute window with the most raises."""
    raised = sorted(raised)
    times = [t for t, _ in raised]
    best = (0, 0.0, [])
    lo = 0
    for hi in range(len(times)):
        while times[hi] - times[lo] >= WINDOW_S:
            lo += 1
        if hi - lo + 1 > best[0]:
            best = (hi - lo + 1, times[lo], [code for _, code in raised[lo : hi + 1]])
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append",
                        help="a shipped scenario's name (default: all of them)")
    parser.add_argument("--hours", type=float, help="run at most this many board hours each")
    parser.add_argument("--speed", type=float, default=600.0,
                        help="simulated seconds per real second (default 600)")
    args = parser.parse_args()
    chosen = [(n, d) for n, d in scenarios() if not args.scenario or n in args.scenario]
    worst = ran = 0
    hours = 0.0
    for name, duration_s in chosen:
        if duration_s is None:
            print("%s: no duration of its own (driven by a benchmark): skipped" % name)
            continue
        if args.hours:
            duration_s = min(duration_s, args.hours * 3600)
        start = time.monotonic()
        raised, covered_s, boots = raises_of(name, duration_s, args.speed)
        count, at_s, codes = busiest(raised)
        worst = max(worst, count)
        ran += 1
        hours += covered_s / 3600
        print("%s: %.1f board h, %d boots seen, in %.0f s; %d raises, at most %d in 10 min "
              "(from %.0f s: %s)"
              % (name, covered_s / 3600, boots, time.monotonic() - start, len(raised), count, at_s,
                 ", ".join("%s x%d" % kv for kv in collections.Counter(codes).most_common())))
    print("target: at most %d raises in any 10 minutes: %s"
          % (TARGET, "met" if worst <= TARGET else "NOT MET"))
    print("alarms: max_raises_per_10min=%d scenarios=%d board_hours=%.1f"
          % (worst, ran, hours))


if __name__ == "__main__":
    main()
