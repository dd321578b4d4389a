"""The errors the pilotedge library raises for a person to act on.

Every message is one line that says what went wrong and what to do about it, so a program
built on the library (the CLI, a dashboard, a fleet bridge) can show it as it is. Catch
PilotedgeError for all of them; anything else escaping the library is a bug.
"""

from pilotproto.framing import EncodeError as _WireEncodeError


class PilotedgeError(Exception):
    """Base of every error of the library."""


class UsageError(PilotedgeError):
    """An option, argument or input file that cannot be used as given."""


class EncodeError(PilotedgeError, _WireEncodeError):
    """A value that does not fit the protocol: unknown message or parameter, out of range.

    Also a pilotproto.framing.EncodeError (a ValueError), which the shared codec raises.
    """


class UnitError(PilotedgeError, ValueError):
    """A quantity typed by a person is unreadable or of the wrong dimension."""


class Refused(PilotedgeError):
    """A board refused or failed a command; the message is its answer in words."""


class LinkError(PilotedgeError):
    """A board cannot be talked to: port, refused handshake, no answer."""


class LogError(PilotedgeError):
    """A file cannot be used as a pilotedge log."""


class ScenarioError(PilotedgeError):
    """A bench scenario, or an event injected into a bench, that does not fit the board."""


class BenchError(PilotedgeError):
    """The virtual bench could not start or talk to a board process."""


class ResourceError(PilotedgeError):
    """Something pilotedge needs is missing from its installation (firmware, MicroPython)."""


class DeployError(PilotedgeError):
    """A board that cannot take a firmware build, or does not come up with it: no board on
    the port, an incompatible MicroPython, a board in a boot loop, a connection lost."""
