"""`pilotedge cal ph|orp|pump|cancel|list`: calibration, step by step, and the records.

Through the running logger that owns the board's port, or with --port straight to a port;
every step is a command in the audit trail (pilotedge.calibrate, pilotedge.ops).

    pilotedge cal ph sim v0                       asks for each buffer
    pilotedge cal ph sim v0 --buffer 1.68 --buffer 4.01 --temp "22 degC" --yes
    pilotedge cal orp sim v0 --standard quinhydrone_4.01
    pilotedge cal pump sim v0 --pump acid --volume "10 mL" --measured "9.7 mL"
    pilotedge cal cancel sim v0 ph                a calibration left open elsewhere
    pilotedge cal list [sim]                      from the boards, or the log when no
                                                  logger runs
"""

import contextlib
from pathlib import Path

from . import calibrate, logdb, ops, ops_cmd
from .errors import LinkError, UsageError


def add_arguments(parser):
    sub = parser.add_subparsers(dest="what", required=True, metavar="{ph,orp,pump,cancel,list}")

    def target(name, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("board", help="the board's name or id")
        p.add_argument("unit", help="a vessel's name or number")
        ops_cmd.add_route_arguments(p)
        return p

    p = target("ph", "calibrate a pH electrode in 1-3 standard buffers")
    p.add_argument("--buffer", action="append", default=[],
                   help="a buffer, in order (repeat): %s" % ", ".join(calibrate.BUFFERS))
    p.add_argument("--temp", help="the buffers' temperature (default: asked, 25 degC)")
    p.add_argument("--yes", action="store_true",
                   help="do not wait for Enter: the electrode is in each buffer in time")
    p = target("orp", "calibrate an ORP electrode in a standard solution")
    p.add_argument("--standard", help="the standard: %s" % ", ".join(calibrate.ORP_STANDARDS))
    p.add_argument("--temp", help="its temperature (default: asked, 25 degC)")
    p.add_argument("--yes", action="store_true", help="do not wait for Enter")
    p = target("pump", "calibrate a dosing pump's rate by a timed run into a cylinder")
    p.add_argument("--pump", required=True, choices=calibrate.PUMPS, help="which pump")
    p.add_argument("--volume", default="10 mL",
                   help="about how much the run pumps (default 10 mL): a cylinder that holds it")
    p.add_argument("--measured", help="the volume read off the cylinder (default: asked)")
    p.add_argument("--yes", action="store_true", help="do not wait for Enter")
    p = target("cancel", "cancel a calibration under way (the board keeps the one it had)")
    p.add_argument("kind", choices=("ph", "orp", "acid", "base"), help="which one")
    p = sub.add_parser("list", help="every calibration, its age and expiry",
                       description="every calibration of every vessel, its age and expiry: "
                                   "from the boards through the running logger (or --port), "
                                   "else from the log")
    p.add_argument("board", nargs="?", help="only this board")
    ops_cmd.add_route_arguments(p)


def run(args):
    if args.what == "list":
        for line in _list(args):
            print(line)
        return 0
    with _sender(args) as send:
        guide = calibrate.Guide(send, yes=getattr(args, "yes", False), say=_say)
        if args.what == "cancel":
            print(guide.step(args.kind, "cancel")["text"])
        elif args.what == "ph":
            calibrate.ph(guide, args.buffer, args.temp)
        elif args.what == "orp":
            calibrate.orp(guide, args.standard, args.temp)
        else:
            calibrate.pump(guide, args.pump, args.volume, args.measured)
    return 0


def _say(text):
    print(text, flush=True)


@contextlib.contextmanager
def _sender(args):
    """send(cal args, progress) -> outcome, for one board and unit, on the command's route."""
    base = ops_cmd.request(args, "cal")
    base.update(board=args.board, unit=args.unit)
    if args.port:
        with ops_cmd.standalone_logger(args, "cal") as logger:
            yield lambda a, progress: ops.execute(logger, dict(base, args=a), progress,
                                                  ops_cmd.login())
    else:
        yield lambda a, progress: ops_cmd.through_logger(args, dict(base, args=a), progress)


def _list(args):
    """Lines of every vessel's records as its board tells them, or the log's."""
    if args.port:
        with ops_cmd.standalone_logger(args, "cal") as logger:
            ops_cmd.wait_for_telemetry(logger.ports[0])
            return _board_lines(logger.status(), lambda req: ops.execute(
                logger, req, None, ops_cmd.login()), args)
    status = {"op": "status", "board": args.board} if args.board else {"op": "status"}
    try:
        boards = ops_cmd.through_logger(args, status)["status"]
    except LinkError:
        db = Path(args.db or logdb.default_path())
        if not db.is_file():
            raise
        lines = calibrate.logged(db, args.board)
        return ["no logger runs: calibrations in the log %s" % db] + (
            lines or ["none"])
    return _board_lines(boards, lambda req: ops_cmd.through_logger(args, req), args)


def _board_lines(boards, execute, args):
    lines = []
    for b in boards:
        if args.board and args.board not in (b["board"], b["board_id"], b["port"]):
            continue
        if b["state"] != "up":
            lines.append("%s: %s, its calibrations unknown" % (b["board"] or b["port"],
                                                               b["state"]))
            continue
        for u in b["units"]:
            if u["kind"] != "vessel":
                continue
            req = dict(ops_cmd.request(args, "cal"), board=b["board"], unit=u["unit"],
                       args={"step": "read", "kind": "all"})
            for record in execute(req)["records"]:
                lines.append("%s %s %s" % (b["board"], u["unit"],
                                           calibrate.record_words(record)))
    if args.board and not lines:
        raise UsageError("no board %r with vessels" % args.board)
    return lines
