# pilotedge: metal-hydride H2 canister monitor: pressure, shell/ambient T, inlet valve (MIT).
#
# Runs at 10 Hz. Pressure and shell temperature each pass three foxBMS tiers
# (domain-facts 5.1): MOL warns, RSL warns and closes the inlet, MSL trips: the inlet is
# closed in the same cycle and the trip latches in the persisted state until RESET_TRIP
# with the cause gone, also across a reboot. A faulted pressure or shell sensor closes the
# inlet (it can no longer be watched). Leak detection and counted SOC are the canister issue;
# here SOC is only a band from P and T.

from compat import const
from control import tiers
from control.hydride import soc_band_permille
from pilotproto import messages as m
from runtime.safety import FAULT_SENSOR, FAULT_TRIP
from units.base import Alarm, Signal, Unit, clamp16

_PERIOD_MS = const(100)
_SENSOR_P = const(0)  # sensor_ok bits and SENSOR_FAULT indexes
_SENSOR_SHELL = const(1)
_SENSOR_AMBIENT = const(2)
_ALARM_BASE = const(40)  # alarms bit = EVENT code - 40 (PRESSURE_HIGH bit 0 ... TRIP bit 3)
_TRIP_BIT = 1 << (m.EVENT_TRIP - _ALARM_BASE)
# Debounce counts at 10 Hz = response times 500 / 300 / 200 ms.
_P_COUNTS = (5, 3, 2)
_T_COUNTS = (5, 5, 3)
_HISTORY = const(10)  # pressure samples kept: 1 s, for the discharge trend
_DISCHARGE_MBAR_PER_S = const(20)  # placeholder: a faster fall with the inlet shut = discharging
_TEMP_MIN_C = -40.0
_TEMP_MAX_C = 150.0


class Canister(Unit):
    KIND = "canister"
    MSG_ID = m.MSG_CANISTER
    PERIOD_MS = _PERIOD_MS

    def __init__(self, index, spec, cfg, events, acks, clock, inputs, outputs, state):
        super().__init__(index, spec, cfg, events, acks, clock, state)
        self._p_in = inputs[spec["pressure"]]
        self._shell_in = inputs[spec["shell"]]
        self._ambient_in = inputs.get(spec.get("ambient"))
        self.inlet = outputs.get(spec.get("inlet"))
        self.p = Signal(self, _SENSOR_P)
        self.shell = Signal(self, _SENSOR_SHELL)
        self.ambient = Signal(self, _SENSOR_AMBIENT)
        self.p_tiers = tiers.Tiers(*_P_COUNTS)
        self.t_tiers = tiers.Tiers(*_T_COUNTS)
        self._p_alarm = Alarm(self, m.EVENT_PRESSURE_HIGH, _ALARM_BASE, m.SEVERITY_WARNING, 1)
        self._t_alarm = Alarm(self, m.EVENT_SHELL_TEMP_HIGH, _ALARM_BASE, m.SEVERITY_WARNING, 1)
        self.trip = state.trip(self.name, m.EVENT_TRIP)  # latched cause (EVENT code), 0 = none
        if self.trip:
            self.alarms |= _TRIP_BIT
        self.valve_cmd = False  # the host asked for the inlet open
        self.state = m.CAN_STATE_TRIPPED if self.trip else m.CAN_STATE_IDLE
        self.p_mbar = 0
        self.shell_cc = 0
        self.ambient_cc = 0
        self.soc_permille = 0
        self.soc_valid = m.SOC_VALID_INVALID
        self._history = [0] * _HISTORY
        self._hist_i = 0
        self.telemetry = [0] * m.CANISTER_NFIELDS

    def fault_bits(self):
        bits = FAULT_SENSOR if self.p.faulted or self.shell.faulted else 0
        return bits | (FAULT_TRIP if self.trip else 0)

    def run(self, now_ms):
        self._sense(now_ms)
        cfg = self.cfg
        p_level = t_level = tiers.OK
        if self.p.ok:
            p_level = self.p_tiers.update(self.p_mbar, cfg["p_mol"], cfg["p_rsl"], cfg["p_msl"])
            self._p_alarm.update(p_level != tiers.OK, self.p_mbar, cfg["p_mol"])
        if self.shell.ok:
            t_level = self.t_tiers.update(self.shell_cc, cfg["t_mol"], cfg["t_rsl"], cfg["t_msl"])
            self._t_alarm.update(t_level != tiers.OK, self.shell_cc * 10, cfg["t_mol"] * 10)
        if not self.trip:
            if p_level == tiers.MSL:
                self._latch(m.EVENT_PRESSURE_HIGH, self.p_mbar, cfg["p_msl"])
            elif t_level == tiers.MSL:
                self._latch(m.EVENT_SHELL_TEMP_HIGH, self.shell_cc * 10, cfg["t_msl"] * 10)
        self._update_safe()
        # The inlet: open only while asked, ready and below RSL; any closure by the monitor
        # also drops the request, so the host must open it again deliberately.
        if self.valve_cmd and (not self.ready or self.safe or max(p_level, t_level) >= tiers.RSL):
            self.valve_cmd = False
        self._drive_inlet()
        self._update_state(max(p_level, t_level), now_ms)

    def _update_safe(self):
        self.ready = self.config_ok and self.p.ok and self.shell.ok
        self.safe = bool(self.trip) or not self.config_ok or self.p.faulted or self.shell.faulted

    def _sense(self, now_ms):
        p_bar = self._p_in.read(now_ms)
        if self.p.update(p_bar, self._p_in.fault):
            self.p_mbar = int(self.p.value * 1000)
        t_c = self._plausible_c(self._shell_in.read(now_ms))
        if self.shell.update(t_c, self._shell_in.fault):
            self.shell_cc = clamp16(int(self.shell.value * 100))
        ok = (1 << _SENSOR_P if self.p.ok else 0) | (1 << _SENSOR_SHELL if self.shell.ok else 0)
        if self._ambient_in is not None:
            t_c = self._plausible_c(self._ambient_in.read(now_ms))
            if self.ambient.update(t_c, self._ambient_in.fault):
                self.ambient_cc = clamp16(int(self.ambient.value * 100))
                ok |= 1 << _SENSOR_AMBIENT
        self.sensor_ok = ok

    @staticmethod
    def _plausible_c(t_c):
        if t_c is not None and not _TEMP_MIN_C <= t_c <= _TEMP_MAX_C:
            return None
        return t_c

    def _latch(self, cause, value, limit):
        # MSL: close the inlet now, remember why on flash, tell the host.
        self.trip = cause
        self.valve_cmd = False
        self._drive_inlet()
        self.alarms |= _TRIP_BIT
        self._state.set_trip(self.name, cause)
        self.events.push(
            self.index, m.EVENT_KIND_LATCHED, m.EVENT_TRIP, m.SEVERITY_CRITICAL, value, limit
        )

    def _drive_inlet(self):
        if self.inlet is None:
            return
        if self.valve_cmd:
            self.inlet.on()  # re-arms the deadman every cycle
        else:
            self.inlet.off()

    def _update_state(self, level, now_ms):
        hist = self._history
        i = self._hist_i
        fall_mbar = hist[i] - self.p_mbar  # over the last second
        hist[i] = self.p_mbar
        self._hist_i = (i + 1) % _HISTORY
        if self.trip:
            self.state = m.CAN_STATE_TRIPPED
        elif self.safe or not self.ready:
            self.state = m.CAN_STATE_FAULT
        elif level != tiers.OK:
            self.state = m.CAN_STATE_WARNING
        elif self.inlet is not None and self.inlet.active:
            self.state = m.CAN_STATE_CHARGING
        elif fall_mbar > _DISCHARGE_MBAR_PER_S:
            self.state = m.CAN_STATE_DISCHARGING
        else:
            self.state = m.CAN_STATE_IDLE

    def _command(self, verb, arg0, arg1, cmd_id):
        if verb == m.VERB_VALVE:
            return self._valve(arg0)
        if verb == m.VERB_RESET_TRIP:
            return self._reset_trip()
        if verb == m.VERB_ACK_ALARM:
            self.events.push(self.index, m.EVENT_KIND_ACKNOWLEDGED, arg0, m.SEVERITY_INFO)
            return m.RESULT_DONE, m.REASON_NONE, arg0
        return m.RESULT_REJECTED, m.REASON_UNKNOWN_VERB, 0

    def _valve(self, open_):
        # open_ is 0 or 1 (the link has checked the spec range, messages.VERBS).
        if self.inlet is None:
            return m.RESULT_REJECTED, m.REASON_OUT_OF_RANGE, 0
        if open_:
            if self.trip or self.safe:
                return m.RESULT_REJECTED, m.REASON_SAFE_STATE, 0
            if not self.ready:
                return m.RESULT_REJECTED, m.REASON_NOT_READY, 0
            if max(self.p_tiers.level, self.t_tiers.level) >= tiers.RSL:
                return m.RESULT_REJECTED, m.REASON_LIMIT, 0
        self.valve_cmd = bool(open_)
        self._drive_inlet()
        return m.RESULT_DONE, m.REASON_NONE, open_

    def _reset_trip(self):
        if not self.trip:
            return m.RESULT_DONE, m.REASON_NONE, 0
        cause_present = max(self.p_tiers.level, self.t_tiers.level) >= tiers.RSL
        if cause_present or not self.ready:
            return m.RESULT_REJECTED, m.REASON_SAFE_STATE, self.trip
        self.trip = 0
        self.alarms &= ~_TRIP_BIT
        self._state.set_trip(self.name, 0)
        self._update_safe()
        self.events.push(self.index, m.EVENT_KIND_CLEARED, m.EVENT_TRIP, m.SEVERITY_CRITICAL)
        return m.RESULT_DONE, m.REASON_NONE, 0

    def stop(self):
        self.valve_cmd = False
        self._drive_inlet()

    def fill_telemetry(self):
        # The SOC band is only reported, so it is worked out at the telemetry rate rather
        # than at 10 Hz (its float math allocates on most ports).
        if self.p.ok and self.shell.ok:
            self.soc_permille = soc_band_permille(self.p.value, self.shell.value)
            self.soc_valid = m.SOC_VALID_BAND
        else:
            self.soc_valid = m.SOC_VALID_INVALID
        t = self.telemetry
        t[m.CANISTER_UNIT] = self.index
        t[m.CANISTER_PRESSURE] = self.p_mbar
        t[m.CANISTER_SHELL_TEMP] = self.shell_cc
        t[m.CANISTER_AMBIENT_TEMP] = self.ambient_cc
        t[m.CANISTER_SOC] = self.soc_permille
        t[m.CANISTER_SOC_VALID] = self.soc_valid
        t[m.CANISTER_STATE] = self.state
        t[m.CANISTER_VALVE_OPEN] = 1 if self.inlet is not None and self.inlet.active else 0
        t[m.CANISTER_SENSOR_OK] = self.sensor_ok
        t[m.CANISTER_ALARMS] = self.alarms


UNIT_CLASS = Canister  # what app.py builds for the spec's unit kind "canister"
