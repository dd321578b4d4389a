# pilotedge: bioleaching vessel: pH, temperature, ORP, dosing pumps, heater, aeration (MIT).
#
# Minimal but real policies the later controller issues replace: temperature = PI on the
# time-proportioned heater, pH = deadband pulse dosing with a mixing dead time, aeration
# on in AUTO. Loops follow their mode (OFF / MANUAL / AUTO), which persists across reboots
# so AUTO control resumes without the host. A MANUAL output needs the host: it stops when
# the link is lost. Outputs stay off until the sensors they depend on are valid.

from compat import const
from control.ph import PulseDoser, ph_from_mv
from control.pid import PID
from pilotproto import messages as m
from runtime.safety import FAULT_SENSOR
from units import pump as pumps
from units.base import Alarm, Signal, Unit, clamp16

_PERIOD_MS = const(1000)
_SENSOR_PH = const(0)  # sensor_ok bits and SENSOR_FAULT indexes
_SENSOR_TEMP = const(1)
_SENSOR_ORP = const(2)
# Plausibility: beyond these the electrode or front end is broken, not the broth.
_PH_MIN = -1.0
_PH_MAX = 15.0
_TEMP_MIN_C = -5.0
_TEMP_MAX_C = 110.0
_ORP_MAX_MV = 1000.0
# Placeholder tuning for ~10 L and 300 W (domain-facts 1.5: tau of hours, <= 0.43 K/min).
_KP_PCT_PER_K = 20.0
_KI_PCT_PER_KS = 0.02
_PH_DEADBAND = 0.1
_PH_PULSE_UL = const(1000)
_PH_DEAD_TIME_MS = const(60000)  # mixing dead time, >= 60 s (domain-facts 1.4)
_ALARM_BASE = const(20)  # alarms bit = EVENT code - 20 (PH_LOW bit 0 ... DOSE_LIMIT bit 6)
_ALARM_CODES = (m.EVENT_PH_LOW, m.EVENT_PH_HIGH, m.EVENT_TEMP_HIGH, m.EVENT_SENSOR_FAULT)
# SET_OUTPUT target -> the loop whose MANUAL mode it needs.
_OUT_LOOP = {
    m.OUT_ACID: m.LOOP_PH,
    m.OUT_BASE: m.LOOP_PH,
    m.OUT_HEATER: m.LOOP_TEMP,
    m.OUT_AERATION: m.LOOP_ORP,
}


class Vessel(Unit):
    KIND = "vessel"
    MSG_ID = m.MSG_VESSEL
    PERIOD_MS = _PERIOD_MS

    def __init__(self, index, spec, cfg, events, acks, clock, inputs, outputs, state):
        super().__init__(index, spec, cfg, events, acks, clock, state)
        self._ph_in = inputs[spec["ph"]]
        self._temp_in = inputs[spec["temp"]]
        self._orp_in = inputs.get(spec.get("orp"))
        rate = spec["pump_ml_per_min"]
        self.acid = pumps.Pump(outputs[spec["acid"]], rate)
        self.base = pumps.Pump(outputs[spec["base"]], rate) if "base" in spec else None
        self.pumps = (self.acid, self.base) if self.base else (self.acid,)
        # Budget params of each pump, read every io pass (names, so no tuple is built).
        self.acid.limit_keys = ("acid_ml_hour", "acid_ml_day")
        if self.base:
            self.base.limit_keys = ("base_ml_hour", "base_ml_day")
        self.heater = outputs[spec["heater"]]
        self.aeration = outputs.get(spec.get("aeration"))
        # (OUT_* bit, output) of the fitted outputs, for the telemetry `outputs` field.
        fitted = [(m.OUT_ACID, self.acid.output), (m.OUT_HEATER, self.heater)]
        if self.base is not None:
            fitted.append((m.OUT_BASE, self.base.output))
        if self.aeration is not None:
            fitted.append((m.OUT_AERATION, self.aeration))
        self._out_bits = tuple(fitted)
        self.ph = Signal(self, _SENSOR_PH)
        self.temp = Signal(self, _SENSOR_TEMP)
        self.orp = Signal(self, _SENSOR_ORP)
        self._ph_low = Alarm(self, m.EVENT_PH_LOW, _ALARM_BASE, m.SEVERITY_ALARM)
        self._ph_high = Alarm(self, m.EVENT_PH_HIGH, _ALARM_BASE, m.SEVERITY_ALARM)
        self._temp_high = Alarm(self, m.EVENT_TEMP_HIGH, _ALARM_BASE, m.SEVERITY_ALARM)
        self._dose_limit_bit = 1 << (m.EVENT_DOSE_LIMIT - _ALARM_BASE)
        # Modes indexed by LOOP_*: [ph, temp, orp].
        self.modes = list(state.modes(self.name, [m.MODE_OFF, m.MODE_OFF, m.MODE_OFF]))
        self.pid = PID(_KP_PCT_PER_K, _KI_PCT_PER_KS)
        self.doser = PulseDoser(_PH_DEADBAND, _PH_PULSE_UL, _PH_DEAD_TIME_MS)
        self.manual_heater_pct = 0
        self.manual_aeration = False
        self._last_ms = None
        # Latest values as wire integers, so telemetry converts nothing.
        self.ph_milli = 0
        self.temp_cc = 0
        self.orp_mv = 0
        self.telemetry = [0] * m.VESSEL_NFIELDS

    def fault_bits(self):
        return FAULT_SENSOR if self.ph.faulted or self.temp.faulted else 0

    def _pump(self, out):
        # The Pump behind OUT_ACID / OUT_BASE, or None.
        if out == m.OUT_ACID:
            return self.acid
        return self.base if out == m.OUT_BASE else None

    # Gating: which outputs may be energised now.

    def _heater_allowed(self):
        return self.config_ok and self.temp.ok and not self.alarms & self._temp_high.mask

    def _ph_valid(self):
        # pH needs its electrode and, for the compensation, the temperature.
        return self.ph.ok and self.temp.ok

    def _pumps_allowed(self):
        return self.config_ok and self._ph_valid()

    # The 1 s cycle.

    def run(self, now_ms):
        dt_ms = (
            _PERIOD_MS if self._last_ms is None else self.clock.ticks_diff(now_ms, self._last_ms)
        )
        self._last_ms = now_ms
        self._sense(now_ms)
        self.ready = self.config_ok and self._ph_valid()
        self.safe = not self.config_ok or self.ph.faulted or self.temp.faulted
        self._check_alarms()
        self._control_temp(dt_ms)
        self._control_ph(dt_ms)
        self._control_aeration()

    def _sense(self, now_ms):
        t_c = self._temp_in.read(now_ms)
        if t_c is not None and not _TEMP_MIN_C <= t_c <= _TEMP_MAX_C:
            t_c = None
        if self.temp.update(t_c, self._temp_in.fault):
            self.temp_cc = clamp16(int(self.temp.value * 100))
        mv = self._ph_in.read(now_ms)
        if self.temp.ok:
            # Temperature compensation is mandatory at 45 degC (domain-facts 2.1): without a
            # valid temperature there is no pH, but the electrode is not at fault either.
            ph = None if mv is None else ph_from_mv(mv, self.temp.value)
            if ph is not None and not _PH_MIN <= ph <= _PH_MAX:
                ph = None
            if self.ph.update(ph, self._ph_in.fault):
                self.ph_milli = clamp16(int(self.ph.value * 1000))
        ok = (1 << _SENSOR_PH if self._ph_valid() else 0) | (
            1 << _SENSOR_TEMP if self.temp.ok else 0
        )
        if self._orp_in is not None:
            mv = self._orp_in.read(now_ms)
            if mv is not None and abs(mv) > _ORP_MAX_MV:
                mv = None
            if self.orp.update(mv, self._orp_in.fault):
                self.orp_mv = clamp16(int(self.orp.value))
                ok |= 1 << _SENSOR_ORP
        self.sensor_ok = ok

    def _check_alarms(self):
        cfg = self.cfg
        if self._ph_valid():
            self._ph_low.update(self.ph_milli < cfg["ph_low"], self.ph_milli, cfg["ph_low"])
            self._ph_high.update(self.ph_milli > cfg["ph_high"], self.ph_milli, cfg["ph_high"])
        if self.temp.ok:
            # temp_high is also the heater interlock (the vessel's MSL, domain-facts 5.1).
            self._temp_high.update(
                self.temp_cc > cfg["temp_high"], self.temp_cc * 10, cfg["temp_high"] * 10
            )

    def _control_temp(self, dt_ms):
        mode = self.modes[m.LOOP_TEMP]
        duty = 0
        if self._heater_allowed():
            limit = self.cfg["heater_max"]
            if mode == m.MODE_AUTO:
                self.pid.set_limits(0.0, limit)
                sp_c = self.cfg["temp_sp"] / 100
                duty = int(self.pid.update(self.temp.value, sp_c, dt_ms / 1000))
            elif mode == m.MODE_MANUAL and self.link_up:
                duty = min(self.manual_heater_pct, limit)
        else:
            self.pid.reset()  # restart from 0 once heating is allowed again
        self.heater.set_duty(duty)  # re-arms the deadman while on

    def _control_ph(self, dt_ms):
        if not self._pumps_allowed():
            self._stop_pumps(m.REASON_NOT_READY, False)
            self.doser.reset()
            return
        if self.modes[m.LOOP_PH] != m.MODE_AUTO:
            return
        vol_ul = self.doser.update(self.ph_milli / 1000, self.cfg["ph_sp"] / 1000, dt_ms)
        if vol_ul > 0:
            self._dose(self.acid, vol_ul, None)
        elif vol_ul < 0 and self.base is not None:
            self._dose(self.base, -vol_ul, None)

    def _control_aeration(self):
        if self.aeration is None:
            return
        mode = self.modes[m.LOOP_ORP]
        manual = mode == m.MODE_MANUAL and self.link_up and self.manual_aeration
        if self.ready and (mode == m.MODE_AUTO or manual):
            self.aeration.on()  # re-arms the deadman every cycle
        else:
            self.aeration.off()

    # Pumps.

    def _dose(self, p, vol_ul, cmd_id):
        # Start a dose within the budgets: REASON_NONE, or why not. Over budget raises
        # DOSE_LIMIT.
        if p.mode != pumps.IDLE:
            return m.REASON_BUSY
        hour_ul = self.cfg[p.limit_keys[0]]
        if not p.budget.fits(vol_ul, hour_ul, self.cfg[p.limit_keys[1]]):
            self._dose_limit(vol_ul, hour_ul)
            return m.REASON_LIMIT
        p.dose(vol_ul, cmd_id)
        return m.REASON_NONE

    def _dose_limit(self, vol_ul, limit_ul):
        # Raised each time a budget refuses; cleared by ACK_ALARM (value/limit in uL = mmL).
        self.alarms |= self._dose_limit_bit
        self.events.push(
            self.index,
            m.EVENT_KIND_RAISED,
            m.EVENT_DOSE_LIMIT,
            m.SEVERITY_WARNING,
            vol_ul,
            limit_ul,
        )

    def service_io(self, now_ms, dt_ms):
        cfg = self.cfg
        duty = cfg["pump_duty_max"]
        for p in self.pumps:
            hour_ul = cfg[p.limit_keys[0]]
            done = p.service(dt_ms, duty, hour_ul, cfg[p.limit_keys[1]])
            if done == pumps.DONE and p.cmd_id is not None:
                self.acks.done(
                    p.cmd_id, m.VERB_DOSE, m.RESULT_DONE, m.REASON_NONE, p.delivered_ul()
                )
            elif done == pumps.PROGRESS and p.cmd_id is not None:
                self.acks.progress(p.cmd_id, m.VERB_DOSE, p.progress_pct(), p.target_ul)
            elif done == pumps.LIMIT:
                self._dose_limit(0, hour_ul)

    def _stop_pumps(self, reason, host_only):
        # Stop pump runs (host_only: only those the host asked for); a host dose ends FAILED.
        for p in self.pumps:
            if p.mode == pumps.IDLE or (host_only and p.mode == pumps.DOSING and p.cmd_id is None):
                continue
            vol_ul = p.stop()
            if p.cmd_id is not None:
                self.acks.done(p.cmd_id, m.VERB_DOSE, m.RESULT_FAILED, reason, vol_ul)
                p.cmd_id = None

    # Host: commands and link.

    def set_link(self, up):
        # A MANUAL output and a host dose need the host; AUTO control goes on without it.
        self.link_up = up
        if not up:
            self._stop_manual(m.REASON_SAFE_STATE)

    def stop(self):
        self._stop_manual(m.REASON_NONE)
        self._stop_pumps(m.REASON_NONE, False)

    def _stop_manual(self, reason):
        self.manual_heater_pct = 0
        self.manual_aeration = False
        if self.modes[m.LOOP_TEMP] == m.MODE_MANUAL:
            self.heater.set_duty(0)
        if self.aeration is not None and self.modes[m.LOOP_ORP] == m.MODE_MANUAL:
            self.aeration.off()
        self._stop_pumps(reason, True)

    def _command(self, verb, arg0, arg1, cmd_id):
        if verb == m.VERB_SET_MODE:
            return self._set_mode(arg0, arg1)
        if verb == m.VERB_SET_OUTPUT:
            return self._set_output(arg0, arg1)
        if verb == m.VERB_DOSE:
            return self._dose_command(arg0, arg1, cmd_id)
        if verb == m.VERB_ACK_ALARM:
            return self._ack_alarm(arg0)
        return m.RESULT_REJECTED, m.REASON_UNKNOWN_VERB, 0

    # The link has checked each argument against its spec range (messages.VERBS).

    def _set_mode(self, loop, mode):
        old = self.modes[loop]
        if mode != old:
            if old == m.MODE_MANUAL:
                self._stop_manual(m.REASON_WRONG_MODE)
            if loop == m.LOOP_TEMP:
                self.pid.reset()
            elif loop == m.LOOP_PH:
                self.doser.reset()
            self.modes[loop] = mode
            self._state.set_modes(self.name, self.modes)
        return m.RESULT_DONE, m.REASON_NONE, mode

    def _set_output(self, out, pct):
        loop = _OUT_LOOP.get(out)
        if loop is None:  # an output vessels do not have (the inlet)
            return m.RESULT_REJECTED, m.REASON_OUT_OF_RANGE, 0
        if self.modes[loop] != m.MODE_MANUAL:
            return m.RESULT_REJECTED, m.REASON_WRONG_MODE, 0
        if self.safe:
            return m.RESULT_REJECTED, m.REASON_SAFE_STATE, 0
        if not self.link_up:
            return m.RESULT_REJECTED, m.REASON_NOT_READY, 0
        if out == m.OUT_HEATER:
            if pct and not self._heater_allowed():
                return m.RESULT_REJECTED, m.REASON_NOT_READY, 0
            self.manual_heater_pct = pct
            pct = min(pct, self.cfg["heater_max"])
            self.heater.set_duty(pct)
        elif out == m.OUT_AERATION:
            if self.aeration is None:
                return m.RESULT_REJECTED, m.REASON_OUT_OF_RANGE, 0
            self.manual_aeration = pct > 0
            self._control_aeration()
        else:
            p = self._pump(out)
            if p is None:
                return m.RESULT_REJECTED, m.REASON_OUT_OF_RANGE, 0
            if pct and not self._pumps_allowed():
                return m.RESULT_REJECTED, m.REASON_NOT_READY, 0
            if p.mode == pumps.DOSING:
                return m.RESULT_REJECTED, m.REASON_BUSY, 0
            if pct:
                p.run_manual(pct)
                pct = min(pct, self.cfg["pump_duty_max"])
            else:
                p.stop()
        return m.RESULT_DONE, m.REASON_NONE, pct

    def _dose_command(self, out, vol_ul, cmd_id):
        p = self._pump(out)
        if p is None:  # no base pump fitted
            return m.RESULT_REJECTED, m.REASON_OUT_OF_RANGE, 0
        if self.modes[m.LOOP_PH] == m.MODE_AUTO:
            return m.RESULT_REJECTED, m.REASON_WRONG_MODE, 0
        if self.safe:
            return m.RESULT_REJECTED, m.REASON_SAFE_STATE, 0
        if not self.link_up or not self._pumps_allowed():
            return m.RESULT_REJECTED, m.REASON_NOT_READY, 0
        reason = self._dose(p, vol_ul, cmd_id)
        if reason != m.REASON_NONE:
            return m.RESULT_REJECTED, reason, 0
        return m.RESULT_IN_PROGRESS, m.REASON_NONE, vol_ul  # then progress, then DONE

    def _ack_alarm(self, code):
        if code == m.EVENT_DOSE_LIMIT:
            self.alarms &= ~self._dose_limit_bit
        elif code not in _ALARM_CODES:
            return m.RESULT_REJECTED, m.REASON_OUT_OF_RANGE, 0
        self.events.push(self.index, m.EVENT_KIND_ACKNOWLEDGED, code, m.SEVERITY_INFO)
        return m.RESULT_DONE, m.REASON_NONE, code

    def fill_telemetry(self):
        t = self.telemetry
        cfg = self.cfg
        outputs = 0
        for bit, o in self._out_bits:
            if o.active:
                outputs |= 1 << bit
        t[m.VESSEL_UNIT] = self.index
        t[m.VESSEL_PH] = self.ph_milli
        t[m.VESSEL_TEMP] = self.temp_cc
        t[m.VESSEL_ORP] = self.orp_mv
        t[m.VESSEL_PH_SP] = cfg["ph_sp"]
        t[m.VESSEL_TEMP_SP] = cfg["temp_sp"]
        t[m.VESSEL_PH_MODE] = self.modes[m.LOOP_PH]
        t[m.VESSEL_TEMP_MODE] = self.modes[m.LOOP_TEMP]
        t[m.VESSEL_OUTPUTS] = outputs
        t[m.VESSEL_HEATER] = self.heater.duty_pct
        t[m.VESSEL_ACID_TOTAL] = self.acid.total_ul
        t[m.VESSEL_BASE_TOTAL] = self.base.total_ul if self.base is not None else 0
        t[m.VESSEL_SENSOR_OK] = self.sensor_ok
        t[m.VESSEL_ALARMS] = self.alarms


UNIT_CLASS = Vessel  # what app.py builds for the spec's unit kind "vessel"
