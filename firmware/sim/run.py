# pilotedge bench: what one simulated board runs at power-on, in place of a board's main.py.
#
#   PILOTEDGE_BENCH=<config.json> micropython -X heapsize=256k firmware/sim/run.py
#
# The host bench starts it (host/pilotedge/bench/board.py). The firmware modules play the
# part of frozen code: firmware/ and protocol/ are on sys.path, the flash folder is the cwd.
# As on a board, an exception that ends the firmware is printed on the REPL console and the
# board stays up in its REPL (with the plants running and any watchdog still armed).

import sys

_FIRMWARE = __file__.rsplit("/", 2)[0]
sys.path[:] = [_FIRMWARE, _FIRMWARE.rsplit("/", 1)[0] + "/protocol", ".frozen"]

import os  # noqa: E402

import boardfile  # noqa: E402
import hal  # noqa: E402
from hal.sim import load_config  # noqa: E402

_IDLE_MS = 100


def main():
    cfg = load_config()
    os.chdir(cfg["flash_dir"])
    board = boardfile.load(cfg["board_file"])
    board_hal = hal.make(board)
    if board_hal.firmware:
        try:
            import app

            app.build(board_hal, board).run()
        except SystemExit:  # hal.to_repl(): the firmware left for the REPL
            pass
        except Exception as e:  # noqa: BLE001 - a board prints any crash and stays up
            sys.print_exception(e, board_hal.repl)
            sys.print_exception(e)
        board_hal.firmware = False
    clock = board_hal.clock
    while True:
        clock.sleep_until(clock.ticks_add(clock.ticks_ms(), _IDLE_MS))
        board_hal.service()


main()
