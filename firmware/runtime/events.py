# pilotedge: bounded, preallocated EVENT queue that drops the oldest entry (MIT).
#
# Each slot is a ready-to-encode EVENT value list (spec order: unit, kind, code, severity,
# value, limit, uptime), so raising and sending an event allocates nothing. When the host is
# away the queue keeps the newest `size` events and counts what it dropped.

from pilotproto import messages as m

UNIT_BOARD = 255  # EVENT/COMMAND/PARAM unit number of the board itself


class EventQueue:
    def __init__(self, uptime, size=16):
        self._uptime = uptime  # object with .ms, the runtime's wrap-free uptime
        self._slots = [[0, 0, 0, 0, 0, 0, 0] for _ in range(size)]
        self._head = 0  # oldest entry
        self.count = 0
        self.dropped = 0

    def push(self, unit, kind, code, severity, value=0, limit=0):
        # value/limit in milli-units of the quantity the code names (spec: EVENT).
        size = len(self._slots)
        if self.count == size:
            self._head = (self._head + 1) % size
            self.count -= 1
            self.dropped += 1
        s = self._slots[(self._head + self.count) % size]
        s[0] = unit
        s[1] = kind
        s[2] = code
        s[3] = severity
        s[4] = value
        s[5] = limit
        s[6] = self._uptime.ms
        self.count += 1

    def peek(self):
        # The oldest entry (valid until pop()), or None.
        if not self.count:
            return None
        return self._slots[self._head]

    def pop(self):
        self._head = (self._head + 1) % len(self._slots)
        self.count -= 1

    def fault(self, unit, code, value=0, limit=0):
        self.push(unit, m.EVENT_KIND_FAULT, code, m.SEVERITY_CRITICAL, value, limit)
