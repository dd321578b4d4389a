# pilotedge: load a board file, boards/<board>/board.json, and answer what a HAL asks (MIT).
#
# load() reads and validates the file: a malformed one gives one ValueError naming the key
# path, never a traceback from deep inside the firmware. The checks themselves live in
# boardcheck.py, which load() imports for the check and drops again: they run once per boot,
# and their ~11 KB of heap (64-bit Unix port; their names stay interned) is then free for
# the runtime.

import gc
import json
import sys


def load(path):
    # Read and validate a board file; ValueError("<path>: <key path>: <problem>") if bad.
    try:
        with open(path) as f:
            board = json.load(f)
    except OSError as e:
        raise ValueError("%s: cannot read (%s)" % (path, e))
    except ValueError as e:  # json.JSONDecodeError on CPython, ValueError on MicroPython
        raise ValueError("%s: not valid JSON (%s)" % (path, e))
    # A board checks its file once, at boot: the checker is dropped again unless someone had
    # loaded it before (a tool or test calling validate() often), so its heap is free for the
    # runtime (it is freed once the last reference, validate()'s, is gone).
    keep = "boardcheck" in sys.modules
    try:
        validate(board)
    except ValueError as e:
        raise ValueError("%s: %s" % (path, e))
    finally:
        if not keep:
            sys.modules.pop("boardcheck", None)
            gc.collect()  # free it now, so that the runtime's imports reuse that heap
    return board


def validate(board):
    # ValueError("<key path>: <problem>") unless the board file is well formed.
    import boardcheck

    boardcheck.validate(board)


def pin_safe_level(board, name):
    # Level a HAL drives pin `name` to when it creates it: an output's inactive level, or
    # high for a chip select (all supported SPI parts select on low).
    for entry in board["outputs"].values():
        if entry["pin"] == name:
            return 0 if entry["active_high"] else 1
    for entry in board["sensors"].values():
        if entry.get("cs") == name:
            return 1
    raise ValueError("pin %r is neither an output nor a chip select" % name)
