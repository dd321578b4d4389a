"""pilotedge host library: codec, link, units, log storage and the virtual bench.

`pilotedge.cli` is the command line on top of it. Whatever a person must act on is raised as
a pilotedge.errors.PilotedgeError; pilotedge.resources finds the firmware, board files,
scenarios and MicroPython, in a checkout or an installed wheel.
"""

__version__ = "0.1.0"
