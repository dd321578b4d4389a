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
    # A board checks its file once, at boot: the checker is dropped again unless someone had
    # loaded it before (a tool or test calling validate() often), so its heap is free for the
    # runtime. It is imported before the file is parsed: json gives a string that is already
    # an interned name (every key the checker knows) as that name, not as a new heap string,
    # which nearly halves the board dict (14 -> 8 KB on the 64-bit Unix port).
    keep = "boardcheck" in sys.modules
    import boardcheck

    try:
        board = _read(path)
        boardcheck.validate(board)
    except ValueError as e:
        raise ValueError("%s: %s" % (path, e))
    finally:
        if not keep:
            sys.modules.pop("boardcheck", None)
            gc.collect()  # free it now, so that the runtime's imports reuse that heap
    return board


def _read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise ValueError("cannot read (%s)" % e)
    except ValueError as e:  # json.JSONDecodeError on CPython, ValueError on MicroPython
        raise ValueError("not valid JSON (%s)" % e)


def validate(board):
    # ValueError("<key path>: <problem>") unless the board file is well formed.
    import boardcheck

    boardcheck.validate(board)


def safe_levels(board):
    # {pin name: the level a HAL drives it to when it creates it}: an output's inactive level,
    # high for a chip select (all supported SPI parts select on low). Taken once, so a HAL
    # keeps this small dict rather than the board file.
    levels = {e["pin"]: 0 if e["active_high"] else 1 for e in board["outputs"].values()}
    for entry in board["sensors"].values():
        if "cs" in entry:
            levels[entry["cs"]] = 1
    return levels
