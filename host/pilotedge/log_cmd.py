"""`pilotedge log PORT [PORT...]`: log every board on these ports until Ctrl-C or SIGTERM,
and serve `pilotedge status|set|mode|dose|ack|batch|cal` for them while it runs.

In a terminal it shows the dashboard (pilotedge.dashboard); where no full-screen view can be
shown (output to a file or pipe, TERM=dumb, --plain) plain lines: every event in words and
each unit's values every PLAIN_EVERY_S; --quiet shows neither.

    pilotedge log /dev/ttyUSB0 /dev/ttyUSB1 --db line3.sqlite
    pilotedge log auto                                  # every USB serial board plugged in
    pilotedge log v1=/dev/serial/by-id/usb-FTDI_FT232R_A1-if00-port0 socket://10.0.0.5:4000
"""

import contextlib
import os
import queue
import re
import signal
import sys
import threading
import time

from . import live, logdb
from .display import Display
from .logger import Logger

_NAMED = re.compile(r"([A-Za-z][\w.-]*)=(.+)")
QUICK_GIL_S = 0.001
PLAIN_EVERY_S = 10.0  # wall seconds between the plain view's lines of values


def add_arguments(parser):
    parser.add_argument("ports", nargs="+", metavar="PORT",
                        help="a device path (/dev/ttyUSB0), a pyserial URL (socket://host:port,"
                             " rfc2217://host:port), or auto (USB serial boards by vendor and "
                             "product id); NAME=PORT names the board NAME in the log")
    parser.add_argument("--db", help="SQLite log (default run/pilotedge.sqlite in the current "
                                     "folder); its folder must exist")
    add_view_arguments(parser)


def add_view_arguments(parser):
    """The live view's options, shared with `pilotedge run`."""
    parser.add_argument("--units", help="show values in these units, e.g. degF,psi,L")
    parser.add_argument("--operator", help="who commands from the dashboard are audited as "
                                           "(default: your login name)")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--quiet", action="store_true",
                      help="no live view: only the first and last lines and link changes")
    view.add_argument("--plain", action="store_true",
                      help="plain lines (events, and values every %g s) instead of the "
                           "dashboard; the default when the output is no terminal"
                           % PLAIN_EVERY_S)


def split_names(specs):
    """Ports and {port: name} from PORT / NAME=PORT arguments."""
    urls, names = [], {}
    for spec in specs:
        match = _NAMED.fullmatch(spec)
        if match and "://" not in match.group(1):
            names[match.group(2)] = match.group(1)
            urls.append(match.group(2))
        else:
            urls.append(spec)
    return urls, names


def run(args):
    urls, names = split_names(args.ports)
    display = Display(args.units)
    db = args.db or logdb.default_path()
    logger = Logger(urls, db, names, create_folder=args.db is None, listen=True,
                    command="log " + " ".join(args.ports))
    logger.start()
    for port in logger.ports:
        h = port.hello
        print("%s: %s firmware %d.%d.%d, boot %d (%s) on %s" % (
            port.name, h["board_id"], h["fw_major"], h["fw_minor"], h["fw_patch"],
            h["boot_count"], h["reset_cause"], port.url), flush=True)
    print("logging to %s; commands: pilotedge status|set|mode|dose|ack|batch|cal; Ctrl-C stops"
          % db, flush=True)
    watch(logger, args, "log %s" % db, display)
    print("logged %d frames to %s" % (logger.db.frames, db))
    return 0


def view_of(args, stream=None):
    """"dashboard", "plain" or "quiet": the dashboard only on a terminal that can show it."""
    stream = stream or sys.stdout
    if args.quiet:
        return "quiet"
    if args.plain or os.environ.get("TERM", "dumb") in ("dumb", "unknown"):
        return "plain"
    return "dashboard" if stream.isatty() and sys.stdin.isatty() else "plain"


def watch(logger, args, title, display, until=None):
    """Show a started logger's boards until Ctrl-C, SIGTERM, until(event) or a failure of the
    log, in the view args ask for; then stop the logger (everything is committed)."""
    state = live.LiveState(logger, display)
    if view_of(args) == "dashboard":
        from .dashboard import Dashboard, seed

        seed(state, logger.db_path)
        with serving(logger) as stop:
            Dashboard(state, title, until, stop, args.operator).run()
        return
    serve(logger, plain_view(state, quiet=args.quiet), until)


def plain_view(state, quiet=False, every_s=PLAIN_EVERY_S, out=None):
    """show(item) for serve(): events and link changes as lines, and each unit's values every
    every_s (quiet: link changes only)."""
    out = out or sys.stdout
    seen = [0]
    next_values = [time.monotonic()]  # the first as soon as every unit has reported

    def show(item):
        state.feed(item)
        new = state.event_count - seen[0]
        seen[0] = state.event_count
        lines = list(state.events)[-new:] if new else []
        if quiet:
            lines = lines if item[0] == "note" else []
        elif time.monotonic() >= next_values[0] and all(u.fields for u in state.units()):
            next_values[0] = time.monotonic() + every_s
            lines += values_lines(state)
        for line in lines:
            print(line, file=out, flush=True)

    return show


def values_lines(state):
    """One line per unit: the first line of its dashboard view, prefixed by time and board,
    and its alarms."""
    now = time.time()
    out = []
    for u in state.units():
        lines = live.unit_lines(u, state.display, now)
        alarms = [x for x in lines if x.startswith("  alarms: ")]
        out.append("%s %s %s%s" % (time.strftime("%H:%M:%S"), u.board.name, lines[0],
                                    "  " + alarms[0].strip() if alarms else ""))
    return out


@contextlib.contextmanager
def serving(logger):
    """While a view runs: a short GIL switch interval, SIGTERM sets the event it gets; at the
    end (Ctrl-C included) the logger stops and a failure of its log is raised."""
    # The reader thread must answer a fast bench board's heartbeats within milliseconds
    # (9 ms at 600x); a short GIL switch interval keeps the writer from holding them off.
    sys.setswitchinterval(QUICK_GIL_S)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield stop
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        logger.stop()
    if logger.failure is not None:
        raise logger.failure


def serve(logger, show, until=None):
    """Hand the logger's events to show() until Ctrl-C, SIGTERM, until(event) or a failure
    of the log; then stop the logger (everything is committed)."""
    with serving(logger) as stop:
        while not stop.is_set() and logger.failure is None:
            try:
                item = logger.events.get(timeout=0.2)
            except queue.Empty:
                continue
            show(item)
            if until is not None and until(item):
                break

