# pilotedge: what every unit shares: the safety envelope, alarms, sensor validity (MIT).
#
# A unit owns its outputs and may energise one only while `ready` (config valid, the sensors
# that output depends on valid) and not `safe` (forced safe by a fault or a trip). Subclasses
# keep the policy (what to switch when); this class keeps the rules (when switching is
# allowed) and the bookkeeping every unit reports the same way.

from control.tiers import Debounce
from pilotproto import messages as m


def clamp16(v):
    # v limited to a signed 16-bit wire field.
    return -32768 if v < -32768 else 32767 if v > 32767 else v


class Alarm:
    # One alarm of a unit: debounced, raises/clears an EVENT and keeps bit (code - base) of
    # unit.alarms, base being the unit kind's first alarm code (vessel 20, canister 40).

    def __init__(self, unit, code, base, severity, debounce=3):
        self._unit = unit
        self.code = code
        self.mask = 1 << (code - base)
        self.severity = severity
        self._debounce = Debounce(debounce)

    def update(self, condition, value, limit):
        # value/limit in milli-units (EVENT scale). Returns True while the alarm is active.
        was = self._debounce.active
        now = self._debounce.update(condition)
        if now != was:
            u = self._unit
            kind = m.EVENT_KIND_RAISED if now else m.EVENT_KIND_CLEARED
            u.events.push(u.index, kind, self.code, self.severity, value, limit)
            if now:
                u.alarms |= self.mask
            else:
                u.alarms &= ~self.mask
        return now


class Signal:
    # Validity of one sensor: a None reading (driver fault) counts against a debounce, so a
    # single bus glitch keeps the last good value while a persistent fault drops `ok` and
    # raises SENSOR_FAULT (value = sensor index, limit = driver fault code).

    def __init__(self, unit, index, debounce=3):
        self._unit = unit
        self._index = index
        self._bad = Debounce(debounce)
        self.value = None  # last good reading
        self.ok = False
        self.faulted = False  # SENSOR_FAULT raised (debounced)
        self.fault = 0  # last driver fault code

    def update(self, value, fault_code):
        if value is not None:
            self.value = value
        else:
            self.fault = fault_code
        was = self._bad.active
        bad = self._bad.update(value is None)
        if bad != was:
            u = self._unit
            u.events.push(
                u.index,
                m.EVENT_KIND_RAISED if bad else m.EVENT_KIND_CLEARED,
                m.EVENT_SENSOR_FAULT,
                m.SEVERITY_ALARM,
                self._index * 1000,
                self.fault * 1000,
            )
        self.faulted = bad
        self.ok = not bad and self.value is not None
        return self.ok


class Unit:
    # A subclass gives run(now_ms), which the scheduler calls every PERIOD_MS, fault_bits()
    # (its HEARTBEAT.faults bits) and fill_telemetry() (fills `telemetry` for its MSG_ID).
    KIND = ""
    MSG_ID = 0
    PERIOD_MS = 0

    def __init__(self, index, spec, cfg, events, acks, clock, state):
        self.index = index  # wire unit number
        self.clock = clock
        self.name = spec["name"]
        self._state = state  # runtime.store.State: modes and trips persisted across reboots
        self.cfg = cfg  # {param: raw value}, shared with runtime.params (updated in place)
        self.events = events
        # Late ACKs of a long command: acks.progress(cmd_id, verb, percent, value) while it
        # runs (at least every PROGRESS_MS), acks.done(cmd_id, verb, result, reason, value).
        self.acks = acks
        self.alarms = 0  # ALARM bits, the unit's `alarms` telemetry field
        self.sensor_ok = 0  # sensor_ok telemetry bits
        self.config_ok = True
        self.ready = False  # config and the unit's sensors valid
        self.safe = False  # forced safe by a fault or trip
        self.link_up = False
        self.telemetry = []  # preallocated value list of MSG_ID, filled by fill_telemetry()

    def command(self, verb, arg0, arg1, cmd_id):
        # (result, reason, value) of a COMMAND addressed to this unit.
        if verb == m.VERB_PING:
            return m.RESULT_DONE, m.REASON_NONE, 0
        if verb == m.VERB_STOP:
            self.stop()
            return m.RESULT_DONE, m.REASON_NONE, 0
        return self._command(verb, arg0, arg1, cmd_id)

    def _command(self, verb, arg0, arg1, cmd_id):
        return m.RESULT_REJECTED, m.REASON_UNKNOWN_VERB, 0

    def stop(self):
        # STOP verb: end every manual output and dose.
        pass

    def set_link(self, up):
        self.link_up = up

    def service_io(self, now_ms, dt_ms):
        # Fast output timing (dose pulses), every io pass.
        pass
