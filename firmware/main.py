# pilotedge: board entry point: board.json from flash -> HAL -> runtime (MIT).
#
# The board file is loaded (and checked) before the runtime is imported: boardfile drops its
# checker again, so the checker and the runtime never take heap at the same time. Whatever
# ends the runtime (an exception escaping it, TO_REPL, Ctrl-C on the REPL), the finally
# clause leaves every output de-energised and latched off.

import boardfile

board = boardfile.load("board.json")

import app  # noqa: E402
import hal  # noqa: E402

rt = app.build(hal.make(board), board)
board = None  # the runtime keeps what it needs (the HAL may keep the board for what it makes)
try:
    rt.run()
finally:
    rt.force_safe()
