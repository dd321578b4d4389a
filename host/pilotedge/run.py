"""`pilotedge run`: the main job on embedded defaults, with no hardware.

Starts one virtual-bench board (the real firmware in MicroPython against the simulated
vessel and canister), logs it like a board on a cable with the logger (pilotedge.logger:
every frame into SQLite, under run/<timestamp>/ by default, commands through its control
endpoint) and shows it on the dashboard (plain lines where no terminal can show it). When
it stops (Ctrl-C, SIGTERM, --duration) it leaves the log, a plot and a report beside it.

    pilotedge run                       # 48 h vessel batch at 60x real time, until Ctrl-C
    pilotedge run --speed 600 --duration 3600
"""

import time
from pathlib import Path

from pilotproto import schema as s

from . import resources
from .bench import Bench
from .display import Display
from .errors import LinkError, LogError, UsageError
from .log_cmd import add_view_arguments, watch
from .logdb import LogDB
from .logger import Logger

DEFAULT_SCENARIO = "vessel_batch_48h"


def add_arguments(parser):
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO,
                        help="bench scenario: the name of a shipped one or a TOML file "
                             "(default %(default)s)")
    parser.add_argument("--speed", type=float, default=60.0,
                        help="simulated seconds per real second (default 60)")
    parser.add_argument("--db", help="SQLite log (default run/<timestamp>/pilotedge.sqlite "
                                     "in the current folder); its folder must exist")
    parser.add_argument("--duration", type=float,
                        help="log this many simulated seconds, then stop (default: until Ctrl-C)")
    parser.add_argument("--workdir", help="folder of the board's flash and logs "
                                          "(default run/bench/<scenario name>)")
    parser.add_argument("--fresh", action="store_true", help="start the board with empty flash")
    add_view_arguments(parser)


def run(args):
    if args.speed <= 0:
        raise UsageError("--speed must be > 0 (the live view follows the board's clock)")
    if args.duration is not None and not args.duration > 0:
        raise UsageError("--duration must be > 0 simulated seconds (leave it out to run "
                         "until Ctrl-C)")
    display = Display(args.units)
    db = Path(args.db) if args.db else (resources.output_dir() / time.strftime("%Y%m%d-%H%M%S")
                                        / "pilotedge.sqlite")
    LogDB.check_path(db, create_folder=args.db is None)
    bench = Bench(args.scenario, boards=1, speed=args.speed, workdir=args.workdir,
                  fresh=args.fresh)
    try:
        board = bench.start()[0]
        logger = Logger([str(board.protocol_port)], db, {str(board.protocol_port): board.name},
                        create_folder=args.db is None, listen=True,
                        command="run --scenario %s --speed %g" % (args.scenario, args.speed))
        logger.start()
        hello = logger.ports[0].hello
        print("%s: %s firmware %d.%d.%d, boot %d; protocol %s, repl %s, flash %s; log %s"
              % (board.name, hello["board_id"], hello["fw_major"], hello["fw_minor"],
                 hello["fw_patch"], hello["boot_count"], board.protocol_port,
                 board.repl_port, board.flash_dir, db), flush=True)
        end_s = None if args.duration is None else hello["uptime"] + args.duration
        watch(logger, args, "run %s %gx  log %s" % (args.scenario, args.speed, db), display,
              _until(end_s))
    except LinkError as exc:
        raise LinkError("%s (board log: %s)" % (exc, bench.workdir)) from exc
    finally:
        bench.stop()
    print("logged %d frames to %s" % (logger.db.frames, db))
    for line in leave_results(db):
        print(line)
    return 0


def leave_results(db):
    """Write a plot and a Markdown report beside the log; lines that say where (or why
    not)."""
    from . import history, plot, report

    db = Path(db)
    png = db.with_name(db.stem + "-plot.png")
    md = db.with_name(db.stem + "-report.md")
    try:
        with history.open_sqlite(db) as log:
            plot.save(log, png)
            rep = report.build(log, report.pick_batch(log))
            md.write_text(report.render(rep, "markdown", png.name))
    except (LogError, OSError) as exc:
        return ["no plot or report: %s" % exc]
    return ["plot: %s" % png, "report: %s" % md]


def _until(end_s):
    if end_s is None:
        return None
    return lambda item: (item[0] == "frame" and item[2].name == "HEARTBEAT"
                         and item[2].values[s.HEARTBEAT_UPTIME] / 1000 >= end_s)
