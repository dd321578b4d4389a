"""`pilotedge status|set|mode|dose|ack|batch`: a technician's commands to a board.

Through the running logger that owns the board's port (its control endpoint), or, with
--port, straight to a port no logger owns. Each prints the board's answer in words and is
written to the log's audit trail with the operator's name.

    pilotedge status
    pilotedge set sim v0 temp_sp 35 degC
    pilotedge mode sim v0 ph manual
    pilotedge dose sim v0 acid 5 mL
    pilotedge ack sim v0 ph_high
    pilotedge batch start sim v0
"""

import getpass
import os
import time

from . import control, logdb, ops
from .display import Display
from .errors import LinkError, UsageError
from .logger import Logger

_TELEMETRY_WAIT_S = 3.0  # standalone status: how long to wait for each unit's telemetry


class _Command:
    """One subcommand: its positional arguments and how they become a request."""

    def __init__(self, op, positionals, args_of):
        self.op = op
        self._positionals = positionals
        self._args_of = args_of

    def add_arguments(self, parser):
        for name, help_text, *nargs in self._positionals:
            parser.add_argument(name, help=help_text, **({"nargs": nargs[0]} if nargs else {}))
        add_route_arguments(parser)

    def run(self, args):
        display = Display(args.units)  # a bad --units fails before anything is sent
        req = request(args, self.op)
        req.update(self._args_of(args))
        if args.port:
            outcome = _standalone(args, req)
        else:
            outcome = through_logger(args, req)
        if self.op == "status":
            for line in ops.status_lines(outcome["status"], display):
                print(line)
            return 0
        print(outcome["text"])
        return 0 if outcome["result"] == "done" else 1


def add_route_arguments(parser):
    """The options of every command: which way to the board, who asks, which units."""
    parser.add_argument("--port", help="talk to the board on this port directly (no "
                                       "logger may own it)")
    parser.add_argument("--db", help="the log: which running logger to go through, or "
                                     "where --port writes the audit trail (default "
                                     "run/pilotedge.sqlite)")
    parser.add_argument("--operator", help="who you are, for the audit trail (default: "
                                           "your login name)")
    parser.add_argument("--units", help="show values in these units, e.g. degF,psi,L")


def request(args, op):
    """A request of op with the person's name and units, from the route's options."""
    return {"op": op, "operator": args.operator or login(), "origin": "cli",
            "units": args.units}


def login():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _progress(text):
    print(text, flush=True)


def through_logger(args, req, progress=_progress):
    states = control.loggers(args.db)
    if not states:
        raise LinkError("no pilotedge logger is running%s: start one (pilotedge log PORT) or "
                        "give the board's port (--port PORT)"
                        % (" for the log %s" % args.db if args.db else ""))
    if req["op"] == "status":
        boards = []
        for state in states:
            boards += control.call(state, req)["status"]
        if req.get("board") and not boards:
            raise UsageError("no board %r on the running logger%s" % (
                req["board"], "s" if len(states) > 1 else ""))
        return {"status": boards}
    last = None
    for state in states:  # the logger that has the board carries it out
        try:
            return control.call(state, req, progress)
        except UsageError as exc:
            if not str(exc).startswith("no board "):
                raise
            last = exc
    raise last


def standalone_logger(args, op):
    """A logger of the command's own on --port (not started), to carry out its requests."""
    port = args.port
    for state in control.loggers():
        if port in state["ports"]:
            raise LinkError("port %s is busy: the pilotedge logger (pid %d, log %s) owns it; "
                            "leave out --port to go through it" % (port, state["pid"],
                                                                  state["db"]))
    return Logger([port], args.db or logdb.default_path(), create_folder=args.db is None,
                  control=False, command="%s --port %s" % (op, port))


def _standalone(args, req):
    with standalone_logger(args, req["op"]) as logger:
        if req["op"] == "status":
            wait_for_telemetry(logger.ports[0])
        return ops.execute(logger, req, _progress, login())


def wait_for_telemetry(port):
    deadline = time.monotonic() + _TELEMETRY_WAIT_S
    wanted = {u.number for u in port.units if u.kind != "board"}
    while not wanted <= set(port.latest) and time.monotonic() < deadline:
        time.sleep(0.05)


def _value(args):
    return " ".join(args.value)


status = _Command("status", [("board", "a board's name or id (default: every board)", "?")],
                  lambda a: {"board": a.board} if a.board else {})
set_ = _Command(
    "set", [("board", "the board's name or id, as its HELLO says"),
            ("unit", "a unit's name (v0, c0) or number"),
            ("param", "a parameter: ph_sp, temp_sp, p_msl, ... (protocol/README.md)"),
            ("value", "the value with its unit: 35 degC, 1.8 pH, 25 bar", "+")],
    lambda a: {"board": a.board, "unit": a.unit,
               "args": {"param": a.param, "value": _value(a)}})
mode = _Command(
    "mode", [("board", "the board's name or id"), ("unit", "a vessel's name or number"),
             ("loop", "ph, temp or orp"), ("mode", "off, manual or auto")],
    lambda a: {"board": a.board, "unit": a.unit, "args": {"loop": a.loop, "mode": a.mode}})
dose = _Command(
    "dose", [("board", "the board's name or id"), ("unit", "a vessel's name or number"),
             ("pump", "acid or base"), ("value", "the volume with its unit: 5 mL", "+")],
    lambda a: {"board": a.board, "unit": a.unit,
               "args": {"pump": a.pump, "volume": _value(a)}})
ack = _Command(
    "ack", [("board", "the board's name or id"), ("unit", "a unit's name or number"),
            ("alarm", "the alarm: ph_high, temp_high, dose_limit, pressure_high, trip, ...")],
    lambda a: {"board": a.board, "unit": a.unit, "args": {"alarm": a.alarm}})
batch = _Command(
    "batch", [("action", "start (every loop to AUTO) or stop (outputs stopped, loops OFF)"),
              ("board", "the board's name or id"), ("unit", "a vessel's name or number")],
    lambda a: {"board": a.board, "unit": a.unit, "args": {"action": a.action}})
