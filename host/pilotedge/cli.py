"""The `pilotedge` command: a thin layer over the library.

`pilotedge --help` is built from the COMMANDS table alone; a subcommand's module, options
included, is imported only when that subcommand runs, so a broken part cannot stop the
others. The library raises PilotedgeError for whatever a person must act on; this module is
the only place that turns one into a line on stderr and an exit status.
"""

import argparse
import importlib
import sys

from pilotproto import messages as m

from . import __version__
from .errors import BenchError, DeployError, LinkError, PilotedgeError, Refused, ResourceError

# name -> ("module" or "module:object", one-line help). The module (or that object of it)
# has add_arguments(parser) and run(args).
COMMANDS = {
    "log": ("pilotedge.log_cmd",
            "log the boards on serial ports to SQLite and serve the commands below for them"),
    "status": ("pilotedge.ops_cmd:status", "show boards, their link and their latest values"),
    "set": ("pilotedge.ops_cmd:set_", "set a parameter of a unit: set sim v0 temp_sp 35 degC"),
    "mode": ("pilotedge.ops_cmd:mode", "set a control loop's mode: mode sim v0 ph auto"),
    "dose": ("pilotedge.ops_cmd:dose", "dose a volume: dose sim v0 acid 5 mL"),
    "ack": ("pilotedge.ops_cmd:ack", "acknowledge an alarm: ack sim v0 ph_high"),
    "batch": ("pilotedge.ops_cmd:batch", "start or stop a batch on a vessel: batch start sim v0"),
    "cal": ("pilotedge.calibrate_cmd",
            "calibrate step by step, or list calibrations: cal ph sim v0, cal list"),
    "export": ("pilotedge.data_cmd:export",
               "write a log's telemetry, events, alarms and commands as CSV or Parquet files"),
    "plot": ("pilotedge.data_cmd:plot",
             "plot a log: pH, ORP, temperature, doses, pressure, charge; set points, alarms"),
    "report": ("pilotedge.data_cmd:report",
               "a batch report from a log: time in band, reagents, energy, alarms, commands"),
    "bridge": ("pilotedge.bridge_cmd",
               "publish a logger's log to an MQTT broker (Sparkplug B) and take its commands"),
    "historian": ("pilotedge.historian_cmd",
                  "store the site's Sparkplug traffic from an MQTT broker in PostgreSQL"),
    "run": ("pilotedge.run",
            "follow a simulated board (no hardware needed): live view and SQLite log"),
    "bench": ("pilotedge.bench_cmd",
              "run simulated boards and print their ports, until Ctrl-C"),
    "decode": ("pilotedge.decode", "turn a raw serial capture into JSON lines"),
    "deploy": ("pilotedge.deploy_cmd",
               "put the firmware on a board through its REPL, reset it, check its HELLO"),
}

DESCRIPTION = """\
pilotedge talks to the edge controllers of a pilot process line: boards that control
bioleaching vessels (pH, temperature, ORP, dosing pumps, heater) and watch metal-hydride
hydrogen canisters (pressure, temperature, inlet valve) over a USB or serial cable. With no
hardware at hand it runs the same firmware on simulated boards (the virtual bench)."""

# Exit status of an error class (first match); other library errors are mistakes in what
# was asked, as argparse's own: 2.
_STATUS = ((Refused, 1), (LinkError, 3), (BenchError, 3), (DeployError, 3), (ResourceError, 4),
           (PilotedgeError, 2))
_STATUS_HELP = """\
exit status: 0 done; 1 the board refused or failed the command (its answer is printed); 2 a
mistake in the command, a file or a value; 3 a board or the bench could not be reached or
failed; 4 part of the installation is missing; 130 Ctrl-C."""


def _parser():
    width = max(len(name) for name in COMMANDS)
    table = "\n".join("  %-*s  %s" % (width, name, help_text)
                      for name, (_module, help_text) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="pilotedge", usage="%(prog)s [-h] [--version] COMMAND [options]",
        description=DESCRIPTION,
        epilog="commands:\n%s\n\n`pilotedge COMMAND --help` shows a command's options.\n\n%s"
               % (table, _STATUS_HELP),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version",
                        help="print the version and the protocol it speaks",
                        version="pilotedge %s, protocol %d, schema 0x%08X"
                                % (__version__, m.VERSION, m.SCHEMA_HASH))
    parser.add_argument("command", nargs="?", choices=COMMANDS, metavar="COMMAND",
                        help=argparse.SUPPRESS)
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def one_line(exc):
    """The message of an error as one line (a board's output tail, say, joined with |)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " | ".join(lines) or type(exc).__name__


def main(argv=None):
    parser = _parser()
    top = parser.parse_args(argv)
    if top.command is None:
        parser.print_help()
        return 2
    target, help_text = COMMANDS[top.command]
    module_name, _colon, attribute = target.partition(":")
    prog = "pilotedge " + top.command
    try:
        module = importlib.import_module(module_name)
        if attribute:
            module = getattr(module, attribute)
        sub = argparse.ArgumentParser(prog=prog, description=help_text)
        module.add_arguments(sub)
        return module.run(sub.parse_args(top.args)) or 0
    except PilotedgeError as exc:
        print("%s: %s" % (prog, one_line(exc)), file=sys.stderr)
        return next(status for cls, status in _STATUS if isinstance(exc, cls))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
