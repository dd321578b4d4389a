# pilotedge: bounded, preallocated EVENT queue that drops the oldest entry (MIT).
#
# Entries are EVENT value lists (positions from the spec, messages.EVENT_*), kept in one
# preallocated ring, so raising and sending an event allocates nothing (but the uptime
# past 2**30 ms on a 32-bit port, see scheduler.Uptime). When the host is away the queue
# keeps the newest `size` events and counts what it dropped.

from pilotproto import messages as m

_FIELDS = m.EVENT_NFIELDS


class EventQueue:
    def __init__(self, uptime, size=16):
        self._uptime = uptime  # scheduler.Uptime: .ms is the wire uptime
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
        r[i + m.EVENT_UNIT] = unit
        r[i + m.EVENT_KIND] = kind
        r[i + m.EVENT_CODE] = code
        r[i + m.EVENT_SEVERITY] = severity
        r[i + m.EVENT_VALUE] = value
        r[i + m.EVENT_LIMIT] = limit
        r[i + m.EVENT_UPTIME] = self._uptime.ms
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
