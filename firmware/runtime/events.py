# pilotedge: bounded, preallocated EVENT queue that drops the oldest entry (MIT).
#
# Entries are EVENT values in spec order (unit, kind, code, severity, value, limit, uptime),
# kept in one preallocated ring, so raising and sending an event allocates nothing. When the
# host is away the queue keeps the newest `size` events and counts what it dropped.

from compat import const
from pilotproto import messages as m

UNIT_BOARD = const(255)  # EVENT/COMMAND/PARAM unit number of the board itself
_FIELDS = const(7)  # values of one EVENT


class EventQueue:
    def __init__(self, uptime, size=16):
        self._uptime = uptime  # object with .ms, the runtime's wrap-free uptime
        self._size = size
        # One flat ring of `size` entries of _FIELDS ints, and the list that peek() fills
        # with the oldest one: fewer, larger objects than a list per entry.
        self._ring = [0] * (_FIELDS * size)
        self._out = [0] * _FIELDS
        self._head = 0  # oldest entry
        self.count = 0
        self.dropped = 0

    def push(self, unit, kind, code, severity, value=0, limit=0):
        # value/limit in milli-units of the quantity the code names (spec: EVENT).
        size = self._size
        if self.count == size:
            self._head = (self._head + 1) % size
            self.count -= 1
            self.dropped += 1
        r = self._ring
        i = (self._head + self.count) % size * _FIELDS
        r[i] = unit
        r[i + 1] = kind
        r[i + 2] = code
        r[i + 3] = severity
        r[i + 4] = value
        r[i + 5] = limit
        r[i + 6] = self._uptime.ms
        self.count += 1

    def peek(self):
        # The oldest entry as a ready-to-encode list (valid until the next peek()), or None.
        if not self.count:
            return None
        out = self._out
        i = self._head * _FIELDS
        for k in range(_FIELDS):
            out[k] = self._ring[i + k]
        return out

    def pop(self):
        self._head = (self._head + 1) % self._size
        self.count -= 1

    def fault(self, unit, code, value=0, limit=0):
        self.push(unit, m.EVENT_KIND_FAULT, code, m.SEVERITY_CRITICAL, value, limit)
