"""`pilotedge run`: the main job on embedded defaults, with no hardware.

Starts one virtual-bench board (the real firmware in MicroPython against the simulated
vessel and canister), connects to its protocol pty like to a board on a cable, shows a live
view of the telemetry and events, and logs every frame to SQLite (./run/pilotedge.sqlite).

    pilotedge run                       # 48 h vessel batch at 60x real time, until Ctrl-C
    pilotedge run --speed 600 --duration 3600
"""

import queue

from . import resources
from .bench import Bench
from .errors import LinkError, UsageError
from .link import Link
from .logdb import LogDB

DEFAULT_SCENARIO = "vessel_batch_48h"
_LOGGED = ("VESSEL", "CANISTER", "EVENT", "HEARTBEAT", "LOG", "HELLO")


def add_arguments(parser):
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO,
                        help="bench scenario: the name of a shipped one or a TOML file "
                             "(default %(default)s)")
    parser.add_argument("--speed", type=float, default=60.0,
                        help="simulated seconds per real second (default 60)")
    parser.add_argument("--db", help="SQLite log (default run/pilotedge.sqlite in the current "
                                     "folder)")
    parser.add_argument("--duration", type=float,
                        help="log this many simulated seconds, then stop (default: until Ctrl-C)")
    parser.add_argument("--workdir", help="folder of the board's flash and logs "
                                          "(default run/bench/<scenario name>)")
    parser.add_argument("--fresh", action="store_true", help="start the board with empty flash")
    parser.add_argument("--quiet", action="store_true", help="log only, no live view")


def describe(frame, uptime_s):
    """One live-view line for a frame, or None for frames the view does not show."""
    f = frame.fields()
    t = "%9.0fs" % uptime_s
    if frame.name == "VESSEL":
        sensors = _sensors(f["sensor_ok"], ("pH", "T", "ORP"))
        return ("%s v%d  pH %6.3f (sp %.2f %s)  T %6.2f degC (sp %.1f %s)  ORP %4d mV"
                "  heater %3d%%  acid %8.3f mL  base %8.3f mL  sensors %s  alarms %s"
                % (t, f["unit"], f["ph"], f["ph_sp"], f["ph_mode"], f["temp"], f["temp_sp"],
                   f["temp_mode"], f["orp"], f["heater"], f["acid_total"], f["base_total"],
                   sensors, hex(f["alarms"])))
    if frame.name == "CANISTER":
        return ("%s c%d  P %7.3f bar  shell %6.2f degC  ambient %6.2f degC  SOC %5.1f%% (%s)"
                "  %s  valve %s  sensors %s  alarms %s"
                % (t, f["unit"], f["pressure"], f["shell_temp"], f["ambient_temp"], f["soc"],
                   f["soc_valid"], f["state"], "open" if f["valve_open"] else "closed",
                   _sensors(f["sensor_ok"], ("P", "shell", "ambient")), hex(f["alarms"])))
    if frame.name == "EVENT":
        return ("%s EVENT unit %d %s %s %s value %g limit %g"
                % (t, f["unit"], f["kind"], f["code"], f["severity"], f["value"], f["limit"]))
    if frame.name == "LOG":
        return "%s LOG %s %s" % (t, f["level"], f["text"])
    return None


def _sensors(value, names):
    """'pH T ORP' with a faulted sensor marked, e.g. 'pH T! ORP'."""
    return " ".join(n if value >> i & 1 else n + "!" for i, n in enumerate(names))


def run(args):
    if args.speed <= 0:
        raise UsageError("--speed must be > 0 (the live view follows the board's clock)")
    bench = Bench(args.scenario, boards=1, speed=args.speed, workdir=args.workdir,
                  fresh=args.fresh)
    db = args.db or resources.output_dir() / "pilotedge.sqlite"
    log = LogDB(db)
    try:
        board = bench.start()[0]
        with Link(str(board.protocol_port)) as link:
            hello = link.hello(timeout=5.0, retries=3)
            log.board_seen(board.name, hello)
            print("%s: %s firmware %d.%d.%d, boot %d; protocol %s, repl %s, flash %s; log %s"
                  % (board.name, hello["board_id"], hello["fw_major"], hello["fw_minor"],
                     hello["fw_patch"], hello["boot_count"], board.protocol_port,
                     board.repl_port, board.flash_dir, db), flush=True)
            _follow(link, log, board.name, args)
    except KeyboardInterrupt:
        pass
    except LinkError as exc:
        raise LinkError("%s (board log: %s)" % (exc, bench.workdir)) from exc
    finally:
        bench.stop()
        log.close()
    print("logged %d frames to %s" % (log_count(db), db))
    return 0


def _follow(link, log, name, args):
    frames = link.listen(*_LOGGED)
    uptime_s = link.board["uptime"]
    end_s = None if args.duration is None else uptime_s + args.duration
    while end_s is None or uptime_s < end_s:
        try:
            frame = frames.get(timeout=5.0)
        except queue.Empty:
            raise LinkError("no frames from %s for 5 s (link %s)" % (name, link.state))
        if frame.name in ("HEARTBEAT", "HELLO"):
            uptime_s = frame.fields()["uptime"]
        log.add(name, frame, uptime_s)
        line = None if args.quiet else describe(frame, uptime_s)
        if line:
            print(line, flush=True)
    log.flush()


def log_count(path):
    with LogDB(path) as log:
        return log.count()
