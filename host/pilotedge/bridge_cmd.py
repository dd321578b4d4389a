"""`pilotedge bridge --broker URL`: publish a logger's log to the site's MQTT broker as a
Sparkplug B edge node, and run the broker's commands through the logger, until Ctrl-C or
SIGTERM. It runs beside `pilotedge log`, on the same log file.

    pilotedge bridge --broker mqtt://broker:1883 --db line3.sqlite --group site --node line3
    pilotedge bridge --broker mqtts://line3@broker.site --ca site-ca.crt \\
        --password-file /etc/pilotedge/line3.pass --access access.toml --db line3.sqlite
"""

import logging
import signal
import threading
import time
from pathlib import Path

from . import logdb, mqtt
from .access import Access
from .bridge import Bridge


def add_arguments(parser):
    mqtt.add_arguments(parser)
    parser.add_argument("--db", help="the logger's SQLite log (default run/pilotedge.sqlite)")
    parser.add_argument("--group", default="pilotedge",
                        help="Sparkplug group id: the site (default pilotedge)")
    parser.add_argument("--node", help="Sparkplug edge node id: the line (default the broker "
                                       "user name, else the log file's name)")
    parser.add_argument("--access", metavar="FILE",
                        help="who may command which board (TOML, docs/fleet.md); without it "
                             "every command is refused")
    parser.add_argument("--keepalive", type=float, default=10.0,
                        help="MQTT keepalive in seconds: a cut network is noticed within 1.5 "
                             "times this (default 10)")


def run(args):
    broker = mqtt.from_args(args)
    db = Path(args.db) if args.db else logdb.default_path()
    node = args.node or broker.username or db.stem
    access = Access.load(args.access) if args.access else Access()
    bridge = Bridge(db, broker, args.group, node, access, int(round(args.keepalive)),
                    on_note=_print)
    logging.getLogger("pilotedge").setLevel(logging.WARNING)
    _print("bridging %s to %s as spBv1.0/%s/%s; Ctrl-C stops"
           % (db, broker.describe(), args.group, node))
    serve(bridge)
    _print("published %d rows" % bridge.published)
    return 0


def serve(service):
    """Run a service (bridge, historian) on a thread until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    thread = threading.Thread(target=service.run, name="pilotedge-service")
    thread.start()
    try:
        while thread.is_alive() and not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        service.stop()
        thread.join()


def _print(text):
    print("%s %s" % (time.strftime("%H:%M:%S"), text), flush=True)
