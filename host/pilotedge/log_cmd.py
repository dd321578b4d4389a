"""`pilotedge log PORT [PORT...]`: log every board on these ports until Ctrl-C or SIGTERM,
and serve `pilotedge status|set|mode|dose|ack|batch|cal` for them while it runs.

    pilotedge log /dev/ttyUSB0 /dev/ttyUSB1 --db line3.sqlite
    pilotedge log auto                                  # every USB serial board plugged in
    pilotedge log v1=/dev/serial/by-id/usb-FTDI_FT232R_A1-if00-port0 socket://10.0.0.5:4000
"""

import queue
import re
import signal
import sys
import threading
import time

from . import logdb
from .display import Display
from .logger import Logger
from .ops import event_words

_NAMED = re.compile(r"([A-Za-z][\w.-]*)=(.+)")
QUICK_GIL_S = 0.001


def add_arguments(parser):
    parser.add_argument("ports", nargs="+", metavar="PORT",
                        help="a device path (/dev/ttyUSB0), a pyserial URL (socket://host:port,"
                             " rfc2217://host:port), or auto (USB serial boards by vendor and "
                             "product id); NAME=PORT names the board NAME in the log")
    parser.add_argument("--db", help="SQLite log (default run/pilotedge.sqlite in the current "
                                     "folder); its folder must exist")
    parser.add_argument("--units", help="show values in these units, e.g. degF,psi,L")
    parser.add_argument("--quiet", action="store_true", help="print only the first and last "
                                                             "lines, not events")


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

    def show(item):
        kind, port, what = item
        if kind == "note":
            print("%s %s on %s: %s" % (time.strftime("%H:%M:%S"), port.name, port.url, what),
                  flush=True)
        elif what.name == "EVENT" and not args.quiet:
            f = what.fields()
            print("%s %s" % (time.strftime("%H:%M:%S"), event_words(
                port.name, port.unit_name(f["unit"]), f, display)), flush=True)

    serve(logger, show)
    print("logged %d frames to %s" % (logger.db.frames, db))
    return 0


def serve(logger, show, until=None):
    """Hand the logger's events to show() until Ctrl-C, SIGTERM, until(event) or a failure
    of the log; then stop the logger (everything is committed)."""
    # The reader threads must answer a fast bench board's heartbeats within milliseconds
    # (9 ms at 600x); a short GIL switch interval keeps the writer from holding them off.
    sys.setswitchinterval(QUICK_GIL_S)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set() and logger.failure is None:
            try:
                item = logger.events.get(timeout=0.2)
            except queue.Empty:
                continue
            show(item)
            if until is not None and until(item):
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        logger.stop()
    if logger.failure is not None:
        raise logger.failure

