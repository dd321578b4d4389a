"""The `pilotedge` command: a table of subcommands, each a module with add_arguments/run.

Modules are imported only when their subcommand runs, so `pilotedge --help` stays fast and a
broken optional part cannot stop the others. User errors print one clear line, never a
traceback, and exit 2.
"""

import argparse
import importlib
import sys

# name -> (module, one-line help). Each module defines add_arguments(parser) and run(args).
COMMANDS = {
    "run": ("pilotedge.run", "the main job: a virtual bench board with live view and SQLite log"),
    "decode": ("pilotedge.decode", "decode a raw serial capture into JSON lines"),
    "bench": ("pilotedge.bench_cmd", "run simulated boards (virtual bench) until Ctrl-C"),
}


class UserError(Exception):
    """A mistake of the user (bad file, port, value): reported in one line, exit code 2."""


def build_parser():
    parser = argparse.ArgumentParser(prog="pilotedge", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    try:
        return importlib.import_module(args._module).run(args) or 0
    except UserError as exc:
        print(f"pilotedge {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
