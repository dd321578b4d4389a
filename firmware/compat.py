# pilotedge: the one runtime switch between MicroPython and CPython (MIT).
#
# Pure firmware modules import `const` from here so that they also import on CPython, where
# the host tests and mypy run them. MicroPython's compiler folds `const()` by name, so
# `_X = const(1)` imported from here is still a compile-time constant on the board.

try:
    import micropython
    from micropython import const
except ImportError:  # CPython

    class micropython:  # type: ignore[no-redef]  # stands in for the module
        @staticmethod
        def const(expr):
            return expr

    const = micropython.const

try:
    from gc import mem_free, threshold
except ImportError:  # CPython has no heap to report, and a collector that needs no help

    def mem_free():  # type: () -> int
        return 0

    def threshold(*amount):  # type: ignore[no-redef]  # the port has two signatures
        return -1


def forget(before):
    # Drop the modules imported since `before` (a set of sys.modules names), and their names
    # in their packages: code a board runs rarely (a calibration) is imported while it is
    # used, and its heap is free again once nothing holds its objects.
    import sys

    for name in list(sys.modules):
        if name not in before:
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                try:
                    delattr(sys.modules[parent], child)
                except AttributeError:
                    pass
