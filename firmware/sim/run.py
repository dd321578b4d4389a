# pilotedge bench: what a simulated board does at power-on, as a board's ROM does (MIT).
#
#   PILOTEDGE_BENCH=<config.json> micropython -X heapsize=512k <rom>/sim/run.py
#
# The host bench (host/pilotedge/bench/board.py) starts it with the board's flash folder as
# the current directory. sys.path is a board's: the flash ("" and lib/) and the frozen
# modules, then the bench's ROM folder, which holds only this `sim` package (the simulated
# hardware, as `machine` sits in a port's ROM): what runs is whatever was deployed onto the
# flash. A flash with a main.py runs it; without one the board sits in its REPL, as a board
# with a bare MicroPython does. As on a board, an exception that ends main.py is printed on
# the REPL console and the board stays up in its REPL, with the plants running and any
# watchdog still armed.

import os
import sys

sys.path[:] = ["", ".frozen", "lib", __file__.rsplit("/", 2)[0]]

from sim import hardware  # noqa: E402

_IDLE_MS = 100


def power_on():
    board = hardware.power_on()
    if board.firmware and _has_main():  # skipped after a soft reset in raw REPL mode
        try:
            import main  # noqa: F401 - the board's entry point runs on import
        except SystemExit:  # hal.to_repl(): the firmware left for the REPL
            pass
        except Exception as e:  # noqa: BLE001 - a board prints any crash and stays up
            sys.print_exception(e, board.repl)
            sys.print_exception(e)
    board.firmware = False
    while True:
        board.sleep_ms(_IDLE_MS)
        board.service()


def _has_main():
    try:
        os.stat("main.py")
        return True
    except OSError:
        return False


power_on()
