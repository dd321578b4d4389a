# pilotedge: the one factory that turns a board file into a HAL (MIT).
#
# board["hal"] names a module of this package ("mcu", "sim", "fake"); each such module has
# make(board) returning the object described in hal/README.md. Real vs simulated vs fake is
# decided here and nowhere else.


def make(board):
    name = board["hal"]
    module = __import__("hal." + name, None, None, ("make",))
    return module.make(board)
