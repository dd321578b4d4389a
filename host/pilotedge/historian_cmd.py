"""`pilotedge historian --broker URL --db postgresql://...`: store the site's Sparkplug
traffic (every bridge's telemetry, events, parameter values and command outcomes) in
PostgreSQL, until Ctrl-C or SIGTERM.

    pilotedge historian --broker mqtt://broker:1883 --db postgresql://historian@db/pilotedge
"""

from . import mqtt
from .bridge_cmd import _print, serve
from .errors import UsageError
from .historian import Historian


def add_arguments(parser):
    mqtt.add_arguments(parser)
    parser.add_argument("--db", required=True, metavar="URL",
                        help="PostgreSQL database: postgresql://USER@HOST[:PORT]/DBNAME (a "
                             "password from ~/.pgpass or PGPASSWORD, not the command line)")
    parser.add_argument("--group", default="+",
                        help="Sparkplug group to store (default: every group)")
    parser.add_argument("--client-id", help="name of its persistent session at the broker "
                                            "(default pilotedge-historian-<host>)")


def run(args):
    if not args.db.startswith(("postgresql://", "postgres://")):
        raise UsageError("--db %r: expected a postgresql:// URL" % args.db)
    if ":" in args.db.split("//", 1)[1].split("@")[0] and "@" in args.db:
        raise UsageError("--db: a password does not go in the URL (the command line shows it "
                         "to every user): use ~/.pgpass or PGPASSWORD")
    historian = Historian(mqtt.from_args(args), args.db, args.group, args.client_id,
                          on_note=_print)
    _print("storing spBv1.0/%s/# from %s in %s; Ctrl-C stops"
           % (args.group, historian.broker.describe(), args.db))
    serve(historian)
    _print("stored %d rows" % historian.stored)
    return 0
