# pilotedge: board state, fault bits and the all-outputs-safe path (MIT).
#
# Owns every output of the board. Outputs start de-energised (drivers/outputs.py) and a unit
# may only energise one once it has valid sensor data and config (units/base.py). fault()
# is the last line: it latches every output off through the driver's force_safe(), so no
# unit can switch anything back on until the board is reset, and stops the watchdog feed.

from compat import const
from pilotproto import messages as m

# HEARTBEAT.faults bits.
FAULT_TASK = const(0x01)  # a task raised; board in FAULT until reset
FAULT_CONFIG = const(0x02)  # config unusable or defaults / last good copy in use
FAULT_SENSOR = const(0x04)  # a unit has a faulted sensor
FAULT_LINK = const(0x08)  # host heartbeats missing
FAULT_TRIP = const(0x10)  # a latched MSL trip
FAULT_DEADMAN = const(0x20)  # an output switched itself off since boot
FAULT_WATCHDOG = const(0x40)  # the last reset was the watchdog
FAULT_EVENTS_DROPPED = const(0x80)  # the event queue overflowed since boot
_LATCHED = const(FAULT_TASK | FAULT_DEADMAN | FAULT_WATCHDOG | FAULT_EVENTS_DROPPED)


class Safety:
    def __init__(self, outputs, events):
        self.outputs = outputs  # every driver output of the board, in board-file order
        self._events = events
        self.state = m.STATE_BOOT
        self.faults = 0  # latched bits, FAULT_* above
        self.serviced_ms = None  # when service() last ran, for the watchdog self-check

    def force_safe(self):
        for o in self.outputs:
            o.force_safe()

    def fault(self):
        # Unrecoverable error: every output off and latched off, board state FAULT.
        self.faults |= FAULT_TASK
        self.state = m.STATE_FAULT
        self.force_safe()

    def service(self, now_ms):
        # Deadman timers and time-proportioning of every output; once per pass.
        events = self._events
        for i in range(len(self.outputs)):
            if self.outputs[i].service(now_ms):
                self.faults |= FAULT_DEADMAN
                events.push(
                    m.UNIT_BOARD,
                    m.EVENT_KIND_RAISED,
                    m.EVENT_OUTPUT_DEADMAN,
                    m.SEVERITY_WARNING,
                    i * 1000,
                )
        self.serviced_ms = now_ms

    def update(self, units, live_bits):
        # Board state from the units; live_bits are the FAULT_* conditions present right now
        # (sensor, link, trip, config), the others stay latched since boot.
        self.faults = (self.faults & _LATCHED) | live_bits
        if self._events.dropped:
            self.faults |= FAULT_EVENTS_DROPPED
        if self.state == m.STATE_FAULT:
            return
        ready = True
        safe = False
        for u in units:
            ready = ready and u.ready
            safe = safe or u.safe
        self.state = m.STATE_SAFE if safe else m.STATE_RUN if ready else m.STATE_BOOT
