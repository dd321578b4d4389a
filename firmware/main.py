# pilotedge: board entry point and loader: app/ on sys.path -> board.json -> HAL -> runtime (MIT).
#
# A deployed flash holds this file and board.json at its root and the firmware in app/
# (host/pilotedge/deploy.py). A deploy stages the new firmware in app.new/ and switches with
# two renames, app -> app.old and app.new -> app; a cut between them leaves only app.old/,
# which then boots. Relative paths: a board's cwd is its root, a bench board's its flash
# folder. With neither folder the modules may still be frozen or in a ROMFS image; if they are
# not, the board stops in its REPL with a message saying so, its outputs never driven.
#
# The board file is loaded (and checked) before the runtime is imported: boardfile drops its
# checker again, so the checker and the runtime never take heap at the same time. Whatever
# ends the runtime (an exception escaping it, TO_REPL, Ctrl-C on the REPL), the finally
# clause leaves every output de-energised and latched off. Keep this file small and stable:
# a deploy rewrites it only when it changed.

import os
import sys

for folder in ("app", "app.old"):
    try:
        os.stat(folder)
    except OSError:
        continue
    sys.path.insert(0, folder)
    break

try:
    import boardfile
except ImportError:
    raise ImportError("no firmware on this board: no app/ folder on its flash; "
                      "put one there with `pilotedge deploy`")

board = boardfile.load("board.json")

import app  # noqa: E402
import hal  # noqa: E402

# `rt` stays in the REPL's namespace when the runtime ends (a board runs main.py in it): a
# deploy feeds rt.hal.wdt, which nothing can disarm, while it talks to the REPL.
rt = app.build(hal.make(board), board)
board = None  # the runtime keeps what it needs (the HAL may keep the board for what it makes)
try:
    rt.run()
finally:
    rt.force_safe()
