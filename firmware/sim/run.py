# pilotedge bench: what one simulated board process runs at power-on (MIT).
#
#   PILOTEDGE_BENCH=<config.json> micropython -X heapsize=384k firmware/sim/run.py
#
# The host bench starts it (host/pilotedge/bench/board.py) in the board's flash folder, where
# it has put board.json as a deployment would. firmware/ and protocol/ play the part of the
# frozen code on sys.path, and the board's own main.py runs unchanged. As on a board, an
# exception that ends main.py is printed on the REPL console and the board stays up in its
# REPL - with the plants running and any watchdog still armed.

import sys

_FIRMWARE = __file__.rsplit("/", 2)[0]
sys.path[:] = [_FIRMWARE, _FIRMWARE.rsplit("/", 1)[0] + "/protocol", ".frozen"]

import os  # noqa: E402

import boardfile  # noqa: E402
import hal  # noqa: E402
from hal import sim  # noqa: E402

_IDLE_MS = 100


def power_on():
    cfg = sim.load_config()
    os.chdir(cfg["flash_dir"])
    if cfg.get("firmware", True):  # skipped after a soft reset in raw REPL mode, as on a board
        try:
            import main  # noqa: F401 - the board's entry point runs on import
        except SystemExit:  # hal.to_repl(): the firmware left for the REPL
            pass
        except Exception as e:  # noqa: BLE001 - a board prints any crash and stays up
            if sim.current is not None:
                sys.print_exception(e, sim.current.repl)
            sys.print_exception(e)
    board_hal = sim.current or hal.make(boardfile.load("board.json"))
    board_hal.firmware = False
    clock = board_hal.clock
    while True:
        clock.sleep_until(clock.ticks_add(clock.ticks_ms(), _IDLE_MS))
        board_hal.service()


power_on()
