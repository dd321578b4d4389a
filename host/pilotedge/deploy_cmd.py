"""`pilotedge deploy`: put the firmware on a board through its REPL (pilotedge.deploy).

    pilotedge deploy --board esp32_devkitc --port /dev/ttyUSB0 --protocol-port /dev/ttyUSB1
    pilotedge deploy --board sim --port <repl pty> --protocol-port <protocol pty>   # bench

Prints each step; the last line names the firmware the board runs after its reset.
"""

from . import deploy


def add_arguments(parser):
    parser.add_argument("--board", required=True,
                        help="a board name under boards/ (esp32_devkitc, rp2040_pico, sim) or "
                             "the path of a board.json")
    parser.add_argument("--port", required=True,
                        help="the board's REPL: a serial device (/dev/ttyUSB0, COM3) or a "
                             "pyserial URL")
    parser.add_argument("--protocol-port",
                        help="where the board speaks the protocol, to check its HELLO after "
                             "the reset (default: --port for a board whose board file says "
                             "\"protocol_port\": \"usb\"; a UART board needs its adapter here)")
    parser.add_argument("--reset-config", action="store_true",
                        help="remove the board's config, state and calibration records, so "
                             "the firmware starts from its defaults")
    parser.add_argument("--romfs", action="store_true",
                        help="deploy the firmware as a ROMFS image (boards whose MicroPython "
                             "has a ROMFS partition)")
    parser.add_argument("--source", action="store_true",
                        help="deploy .py sources instead of .mpy compiled for the board")
    parser.add_argument("--firmware", metavar="FOLDER",
                        help="the firmware folder to deploy (default: the installed one)")


def run(args):
    deploy.deploy(args.board, args.port, protocol_port=args.protocol_port,
                  reset_config=args.reset_config, romfs=args.romfs, source=args.source,
                  firmware=args.firmware, report=lambda line: print(line, flush=True))
    return 0
