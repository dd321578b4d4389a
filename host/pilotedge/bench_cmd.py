"""`pilotedge bench`: run simulated boards until Ctrl-C and print their endpoints.

    pilotedge bench --scenario vessel_batch_48h --speed 60 --boards 2

Each board prints its protocol pty (for `pilotedge` tools and Link), its REPL pty (for
`mpremote connect <pty> resume ...` and pytest-embedded) and its flash folder. Resets are
reported as they happen, and the end of the scenario's duration_s when every board is past it.
"""

import time

from pilotproto import schema

from .bench import Bench
from .bench.board import DEFAULT_HEAP
from .bench.scenario import shipped
from .errors import BenchError, UsageError


def add_arguments(parser):
    parser.add_argument("--scenario", required=True,
                        help="a scenario TOML file, or the name of a shipped one (%s)"
                             % ", ".join(shipped()))
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per real second; 0 = as fast as possible "
                             "(default 1)")
    parser.add_argument("--boards", type=int, default=1, help="number of boards (default 1)")
    parser.add_argument("--workdir", help="folder for the boards' flash folders and logs "
                                          "(default run/bench/<scenario name>)")
    parser.add_argument("--seed", type=int, help="noise seed (default: the scenario's)")
    parser.add_argument("--fresh", action="store_true",
                        help="start with empty flash folders (default: keep them, as a board "
                             "keeps its flash)")
    parser.add_argument("--heap", default=DEFAULT_HEAP,
                        help="MicroPython heap per board (default %s)" % DEFAULT_HEAP)
    parser.add_argument("--trace", action="store_true",
                        help="record each board's truth trace (<workdir>/<board>.trace)")
    parser.add_argument("--no-deploy", action="store_true",
                        help="boot what the flash folders hold instead of deploying the "
                             "firmware onto them first")


def _report(board, event):
    if event["event"] == "exit":
        cause = schema.ENUMS["RESET"].get(event["cause"], event["cause"])
        print("%s: reset (%s)" % (board.name, cause), flush=True)


def run(args):
    if args.speed < 0:
        raise UsageError("--speed must be >= 0")
    if args.boards < 1:
        raise UsageError("--boards must be >= 1")
    bench = Bench(args.scenario, boards=args.boards, speed=args.speed, workdir=args.workdir,
                  seed=args.seed, heap=args.heap, fresh=args.fresh, on_event=_report,
                  trace=args.trace, deploy=not args.no_deploy)
    bench.start()
    try:
        speed = "as fast as possible" if args.speed == 0 else "%gx real time" % args.speed
        print("scenario %s, %s; Ctrl-C stops" % (bench.scenario.name, speed))
        for board in bench.boards:
            trace = "" if board.trace_path is None else "  trace %s" % board.trace_path
            print("%s  protocol %s  repl %s  flash %s%s"
                  % (board.name, board.protocol_port, board.repl_port, board.flash_dir, trace),
                  flush=True)
        end_ms = None if bench.scenario.duration_s is None else bench.scenario.duration_s * 1000
        while True:
            time.sleep(1.0)
            for board in bench.boards:
                if board.crash:
                    raise BenchError(board.crash)
            slowest_ms = min(bench.state(b)["now_ms"] for b in bench.boards)
            if end_ms is not None and slowest_ms >= end_ms:
                print("scenario duration (%g s simulated) reached; running on until Ctrl-C"
                      % bench.scenario.duration_s, flush=True)
                end_ms = None
    except KeyboardInterrupt:
        return 0
    finally:
        bench.stop()
