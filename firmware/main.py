# pilotedge: board entry point: board.json from flash -> HAL -> runtime (MIT).
#
# Whatever ends the runtime (an exception escaping it, TO_REPL, Ctrl-C on the REPL), the
# finally clause leaves every output de-energised and latched off.

import app
import boardfile
import hal

board = boardfile.load("board.json")
rt = app.build(hal.make(board), board)
try:
    rt.run()
finally:
    rt.force_safe()
