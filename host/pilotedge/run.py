"""`pilotedge run`: the main job on embedded defaults, with no hardware.

Starts one virtual-bench board (the real firmware in MicroPython against the simulated
vessel and canister), logs it like a board on a cable with the logger (pilotedge.logger:
every frame into SQLite, under run/<timestamp>/ by default, commands through its control
endpoint) and shows a live view of its telemetry and events.

    pilotedge run                       # 48 h vessel batch at 60x real time, until Ctrl-C
    pilotedge run --speed 600 --duration 3600
"""

import time
from pathlib import Path

from pilotproto import schema as s

from . import boardinfo, resources
from .bench import Bench
from .errors import LinkError, UsageError
from .log_cmd import serve
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
    parser.add_argument("--quiet", action="store_true", help="log only, no live view")


def describe(frame, uptime_s, unit_name=str):
    """One live-view line for a frame, or None for frames the view does not show. Readings
    the frame does not vouch for show as --."""
    f = boardinfo.valid_readings(frame.name, frame.fields())
    t = "%9.0fs" % uptime_s
    if frame.name == "VESSEL":
        sensors = _sensors(f["sensor_ok"], ("pH", "T", "ORP"))
        return ("%s %s  pH %s (sp %.2f %s)  T %s degC (sp %.1f %s)  ORP %s mV"
                "  heater %3d%%  acid %8.3f mL  base %8.3f mL  sensors %s  alarms %s"
                % (t, unit_name(f["unit"]), _num(f["ph"], "%6.3f"), f["ph_sp"], f["ph_mode"],
                   _num(f["temp"], "%6.2f"), f["temp_sp"], f["temp_mode"],
                   _num(f["orp"], "%4d"), f["heater"], f["acid_total"], f["base_total"],
                   sensors, hex(f["alarms"])))
    if frame.name == "CANISTER":
        return ("%s %s  P %s bar  shell %s degC  ambient %s degC  SOC %s%% (%s)"
                "  %s  valve %s  sensors %s  alarms %s"
                % (t, unit_name(f["unit"]), _num(f["pressure"], "%7.3f"),
                   _num(f["shell_temp"], "%6.2f"), _num(f["ambient_temp"], "%6.2f"),
                   _num(f["soc"], "%5.1f"), f["soc_valid"], f["state"],
                   "open" if f["valve_open"] else "closed",
                   _sensors(f["sensor_ok"], ("P", "shell", "ambient")), hex(f["alarms"])))
    if frame.name == "EVENT":
        return ("%s EVENT %s %s %s %s value %g limit %g"
                % (t, unit_name(f["unit"]), f["kind"], f["code"], f["severity"], f["value"],
                   f["limit"]))
    if frame.name == "LOG":
        return "%s LOG %s %s" % (t, f["level"], f["text"])
    return None


def _num(value, fmt):
    return "--" if value is None else fmt % value


def _sensors(value, names):
    """'pH T ORP' with a faulted sensor marked, e.g. 'pH T! ORP'."""
    return " ".join(n if value >> i & 1 else n + "!" for i, n in enumerate(names))


def run(args):
    if args.speed <= 0:
        raise UsageError("--speed must be > 0 (the live view follows the board's clock)")
    if args.duration is not None and not args.duration > 0:
        raise UsageError("--duration must be > 0 simulated seconds (leave it out to run "
                         "until Ctrl-C)")
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
        port = logger.ports[0]
        hello = port.hello
        print("%s: %s firmware %d.%d.%d, boot %d; protocol %s, repl %s, flash %s; log %s"
              % (board.name, hello["board_id"], hello["fw_major"], hello["fw_minor"],
                 hello["fw_patch"], hello["boot_count"], board.protocol_port,
                 board.repl_port, board.flash_dir, db), flush=True)
        end_s = None if args.duration is None else hello["uptime"] + args.duration
        serve(logger, _live_view(port, args.quiet), _until(end_s))
    except LinkError as exc:
        raise LinkError("%s (board log: %s)" % (exc, bench.workdir)) from exc
    finally:
        bench.stop()
    print("logged %d frames to %s" % (logger.db.frames, db))
    return 0


def _live_view(port, quiet):
    uptime = [port.hello["uptime"]]

    def show(item):
        kind, _port, frame = item
        if kind == "note":
            print("%s: %s" % (port.name, frame), flush=True)
            return
        if frame.name == "HEARTBEAT":
            uptime[0] = frame.values[s.HEARTBEAT_UPTIME] / 1000
        line = None if quiet else describe(frame, uptime[0], port.unit_name)
        if line:
            print(line, flush=True)

    return show


def _until(end_s):
    if end_s is None:
        return None
    return lambda item: (item[0] == "frame" and item[2].name == "HEARTBEAT"
                         and item[2].values[s.HEARTBEAT_UPTIME] / 1000 >= end_s)
