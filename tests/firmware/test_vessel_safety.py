"""Vessel safety in the firmware runtime on the fake HAL: the dose state through reboots and
damaged flash, reservoirs, manual runs booked chunk by chunk, a shorted electrode, and the
over-temperature trip latched across a reboot.

Plain asserts, no pytest features: pytest runs it on CPython and test_runtime_on_micropython.py
runs it under the MicroPython Unix port.
"""

from rig import Rig

from pilotproto import messages as m
from pilotproto import schema as s
from runtime import store

V0 = 0


def _ack(rig, cmd_id):
    acks = [a for a in rig.host.take(m.MSG_ACK) if a[s.ACK_CMD_ID] == cmd_id]
    return acks[-1]


def _manual_ph(rig):
    # The pH loop in MANUAL for host doses, no interval between them.
    rig.host.send(m.MSG_PARAM_SET, [V0, b"dose_interval", 0])
    rig.run_linked(3000)
    rig.host.command(1, V0, m.VERB_SET_MODE, m.LOOP_PH, m.MODE_MANUAL)
    rig.run_linked(1000)


def _dose(rig, cmd_id, out, vol_ul, run_ms=1000):
    rig.host.command(cmd_id, V0, m.VERB_DOSE, out, vol_ul)
    rig.run_linked(run_ms)
    return _ack(rig, cmd_id)


def _line(rig, pump="acid"):
    return getattr(rig.rt.units[0], pump).line


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def test_a_reboot_continues_the_windows_and_a_cut_off_dose_counts_whole():
    r = Rig()
    _manual_ph(r)
    done = _dose(r, 2, m.OUT_ACID, 1000, 30000)
    assert done[s.ACK_RESULT] == m.RESULT_DONE
    held = _line(r).budget.hour.total
    assert held == done[s.ACK_VALUE]
    assert _dose(r, 3, m.OUT_ACID, 2000, 5000)[s.ACK_RESULT] == m.RESULT_IN_PROGRESS
    r2 = r.reboot()  # five seconds into a 2 mL dose
    line = _line(r2)
    assert line.pending_ul == 0 and line.budget.hour.total >= held + 2000  # all of it
    assert line.total_ml * 1000 + line.total_ul >= held + 2000
    r2.run_for(100)
    assert r2.pin("v0_acid") == 0


def test_damaged_dose_state_spends_the_windows_and_none_at_all_does_not():
    r = Rig()
    _manual_ph(r)
    _dose(r, 2, m.OUT_ACID, 500, 30000)
    path = r.flash + "/dose_v0.json"
    _write(path, b"PE1 dose_v0 1 9 00000000\n{garbage}")  # damaged; the .bak is older
    r2 = r.reboot()
    assert _line(r2).budget.hour.total > 100000 and _line(r2, "base").budget.day.total > 100000
    _manual_ph(r2)
    refused = _dose(r2, 4, m.OUT_ACID, 100)
    assert (refused[s.ACK_REASON], refused[s.ACK_VALUE]) == (m.REASON_LIMIT, m.LIMIT_HOUR)
    for name in ("dose_v0.json", "dose_v0.bak"):
        _write(r.flash + "/" + name, b"")  # nothing readable at all
    assert _line(r.reboot()).budget.day.total > 100000
    fresh = Rig()  # a new board: no record ever written
    assert _line(fresh).budget.day.total == 0


def test_a_complete_tmp_copy_is_the_newest_state():
    r = Rig()
    _manual_ph(r)
    _dose(r, 2, m.OUT_ACID, 700, 30000)
    record = store.Record(store.OsFs(), r.flash, "dose_v0", 1, lambda d: d, lambda: None)
    data, _source = record.load()
    # A cut between the two renames of a save: the new copy is the tmp file.
    with open(record.path, "rb") as f:
        raw = f.read()
    _write(record.tmp, raw)
    import os

    os.remove(record.path)
    r2 = r.reboot()
    assert _line(r2).budget.hour.total == data["lines"][0][5 + 2 + _line(r).budget.hour._i]


class FailingFs(store.OsFs):
    # The flash refuses every dose-state write once `broken` is set.
    broken = False

    def write(self, path, data):
        if self.broken and "/dose_" in path:
            raise OSError(28)  # ENOSPC
        store.OsFs.write(self, path, data)


def test_a_dose_that_cannot_be_saved_does_not_start():
    fs = FailingFs()
    r = Rig(fs=fs)
    _manual_ph(r)
    fs.broken = True
    refused = _dose(r, 2, m.OUT_ACID, 1000, 3000)
    assert (refused[s.ACK_RESULT], refused[s.ACK_REASON]) == (m.RESULT_REJECTED,
                                                              m.REASON_INTERNAL)
    assert r.pin("v0_acid") == 0 and _line(r).pending_ul == 0 and _line(r).total_ul == 0
    fs.broken = False
    assert _dose(r, 3, m.OUT_ACID, 1000)[s.ACK_RESULT] == m.RESULT_IN_PROGRESS


def test_reservoir_low_alarm_and_no_dose_from_empty():
    r = Rig()
    _manual_ph(r)
    r.host.command(2, V0, m.VERB_RESERVOIR, m.OUT_ACID, 1200)  # 1.2 mL left in the bottle
    r.run_linked(2000)
    assert _ack(r, 2)[s.ACK_RESULT] == m.RESULT_DONE
    (low,) = r.host.events(m.EVENT_ACID_LOW)  # 1.2 mL <= res_low (200 mL)
    assert low[s.EVENT_KIND] == m.EVENT_KIND_RAISED and low[s.EVENT_VALUE] == 1200
    empty = _dose(r, 3, m.OUT_ACID, 1500)
    assert (empty[s.ACK_REASON], empty[s.ACK_VALUE]) == (m.REASON_LIMIT, m.LIMIT_EMPTY)
    assert _dose(r, 4, m.OUT_ACID, 1000, 30000)[s.ACK_RESULT] == m.RESULT_DONE
    tlm = r.host.take(m.MSG_VESSEL)[-1]
    assert 190 <= tlm[s.VESSEL_ACID_RES] <= 200 and tlm[s.VESSEL_BASE_RES] == -1
    r.host.command(5, V0, m.VERB_RESERVOIR, m.OUT_ACID, 2000000)  # refilled: 2 L
    r.run_linked(2000)
    (cleared,) = r.host.events(m.EVENT_ACID_LOW)
    assert cleared[s.EVENT_KIND] == m.EVENT_KIND_CLEARED
    assert _line(r.reboot()).reservoir_ul == 2000000  # kept on flash


def test_a_manual_run_is_booked_a_minute_at_a_time_and_stops_at_the_budget():
    r = Rig()
    r.host.send(m.MSG_PARAM_SET, [V0, b"acid_ml_hour", 7000])  # 7 mL in the hour
    _manual_ph(r)
    r.host.command(2, V0, m.VERB_SET_OUTPUT, m.OUT_ACID, 100)
    r.run_linked(1000)
    line = _line(r)
    booked = line.pending_ul + line.budget.hour.total  # a minute of flow and the margin
    assert _ack(r, 2)[s.ACK_RESULT] == m.RESULT_DONE and 5000 < booked < 5100
    limits = []
    for _ in range(30):  # at 50 % duty: 2.5 mL/min, the budget after 2.3 min
        r.run_linked(10000)
        limits += r.host.events(m.EVENT_DOSE_LIMIT)  # before the host's buffer drops them
    assert r.pin("v0_acid") == 0 and r.rt.units[0].acid.mode == 0
    # An uncalibrated pump may deliver 20 % over its nominal rate: it gets 5/6 of the budget.
    assert line.hour_ul == 5830
    assert 5730 <= line.budget.hour.total <= 5830 and line.pending_ul == 0
    assert [e[s.EVENT_KIND] for e in limits] == [m.EVENT_KIND_RAISED]


def test_a_shorted_electrode_is_caught_and_recovers_after_the_off_delay():
    r = Rig()
    _manual_ph(r)
    r.world.apply({"do": "sensor_short", "target": "v0_ph"})  # 0 mV: pH 7.00
    r.run_linked(5000)
    v = r.rt.units[0]
    (fault,) = r.host.events(m.EVENT_SENSOR_FAULT)
    assert (fault[s.EVENT_VALUE], fault[s.EVENT_LIMIT]) == (0, m.CHECK_RATE * 1000)
    assert not v.ph.ok and abs(v.ph_milli - 1700) < 10  # the last plausible one, never pH 7
    assert _dose(r, 2, m.OUT_ACID, 100)[s.ACK_REASON] == m.REASON_SAFE_STATE
    r.world.apply({"do": "sensor_ok", "target": "v0_ph"})
    r.run_linked(10000)
    assert not v.ph.ok  # plausible again, but not for 30 s yet
    r.run_linked(25000)
    assert v.ph.ok and r.rt.safety.state == m.STATE_RUN
    (cleared,) = r.host.events(m.EVENT_SENSOR_FAULT)
    assert cleared[s.EVENT_KIND] == m.EVENT_KIND_CLEARED


def test_the_over_temperature_trip_latches_across_a_reboot():
    r = Rig()
    r.host.send(m.MSG_PARAM_SET, [V0, b"temp_high", 3900])
    r.host.send(m.MSG_PARAM_SET, [V0, b"temp_cutoff", 4000])
    r.run_linked(3000)
    trips = []
    while r.plant.temp_c < 40.5:  # the broth warms 0.75 K/min past the 40 degC cutoff
        r.plant.temp_c += 0.1
        r.run_linked(8000)
        trips += r.host.events(m.EVENT_TEMP_TRIP)
    (trip,) = trips
    assert trip[s.EVENT_KIND] == m.EVENT_KIND_LATCHED and trip[s.EVENT_LIMIT] == 40000
    r.plant.temp_c = 35.0
    r2 = r.reboot()
    r2.run_linked(3000)
    v = r2.rt.units[0]
    assert v.twin.tripped and v.alarms & 1 << (m.EVENT_TEMP_TRIP - 20)
    assert r2.rt.safety.faults & 0x10 and r2.rt.safety.state == m.STATE_SAFE
    r2.host.command(2, V0, m.VERB_RESET_TRIP)
    r2.run_linked(2000)
    assert _ack(r2, 2)[s.ACK_RESULT] == m.RESULT_DONE and not v.twin.tripped
    assert not v.alarms & 1 << (m.EVENT_TEMP_TRIP - 20)
    assert r2.reboot().rt.units[0].twin.tripped is False


def test_a_pump_calibration_is_read_back_after_a_reboot_that_lost_unsaved_minutes():
    r = Rig()
    r.run_linked(3000)
    v = r.rt.units[0]
    v.resume_op_min(50)  # 50 operating minutes, not saved yet (they are saved hourly)
    # 2 min on at 5 mL/min, at the pump's 50 % duty limit: 4 min.
    r.host.command(2, V0, m.VERB_CAL_START, m.CAL_KIND_ACID, 10000)
    r.run_linked(245000)
    assert _ack(r, 2)[s.ACK_RESULT] == m.RESULT_DONE
    line = _line(r)  # the run went into the cylinder: in the windows, not the vessel's total
    assert line.budget.hour.total >= 10000 and line.total_ml == 0 and line.total_ul == 0
    budget_ul = r.rt.units[0].cfg["acid_ml_hour"]
    assert line.hour_ul == budget_ul // 6 * 5  # uncalibrated: room for a 20 % faster pump
    r.host.command(3, V0, m.VERB_CAL_POINT, 10300)  # 10.3 mL in the cylinder
    r.run_linked(1000)
    assert _ack(r, 3)[s.ACK_VALUE] == 5150  # uL/min
    r.host.command(4, V0, m.VERB_CAL_FINISH)
    r.run_linked(1000)
    assert _ack(r, 4)[s.ACK_RESULT] == m.RESULT_DONE
    r.run_linked(1000)
    assert line.hour_ul == budget_ul  # calibrated: the whole budget, from the next check
    r2 = r.reboot()
    assert r2.rt.units[0].op_min() == 54  # 50 + the run: the record proves them
    r2.run_linked(3000)
    r2.host.command(5, V0, m.VERB_CAL_READ, m.CAL_KIND_ACID)
    r2.run_linked(1000)
    assert _ack(r2, 5)[s.ACK_VALUE] == 1
    (cal,) = r2.host.take(m.MSG_CAL)
    assert cal[s.CAL_POINTS] == 1 and cal[s.CAL_RATE] == 5150 and cal[s.CAL_AGE] == 0
    assert not r2.host.events(m.EVENT_TX_ERROR)


def _vessel(rig):
    rig.run_linked(1000)
    return rig.host.take(m.MSG_VESSEL)[-1]


def test_a_prime_fills_the_line_within_the_budgets_but_not_into_the_totals():
    r = Rig()
    _manual_ph(r)
    r.host.send(m.MSG_PARAM_SET, [V0, b"acid_ml_hour", 7000])  # 7 mL in the hour
    line = _line(r)
    r.host.command(3, V0, m.VERB_PRIME, m.OUT_ACID, 4000)
    r.run_linked(120000)  # 48 s of flow at the 50 % duty limit
    primed = _ack(r, 3)
    assert (primed[s.ACK_RESULT], primed[s.ACK_VERB]) == (m.RESULT_DONE, m.VERB_PRIME)
    assert 4000 <= primed[s.ACK_VALUE] <= 4000 + line.margin_ul
    assert line.total_ml == 0 and line.total_ul == 0  # in the tube, not in the vessel
    assert line.budget.hour.total == primed[s.ACK_VALUE]  # but what it may pass on is bounded
    assert _vessel(r)[s.VESSEL_ACID_TOTAL] == 0
    r.host.command(4, V0, m.VERB_PRIME, m.OUT_ACID, 4000)  # 8 mL > the 7 mL hour
    r.run_linked(1000)
    refused = _ack(r, 4)
    assert (refused[s.ACK_REASON], refused[s.ACK_VALUE]) == (m.REASON_LIMIT, m.LIMIT_HOUR)


def test_a_batch_counts_its_reagent_as_delivered_and_its_heater_energy_across_a_reboot():
    r = Rig()
    _manual_ph(r)
    before = _dose(r, 2, m.OUT_ACID, 1000, 30000)[s.ACK_VALUE]  # before the batch
    r.host.command(3, V0, m.VERB_BATCH_START)
    r.run_linked(1000)
    assert _ack(r, 3)[s.ACK_RESULT] == m.RESULT_DONE
    t = _vessel(r)
    assert t[s.VESSEL_BATCH] == 1 and t[s.VESSEL_BATCH_ACID] == 0
    assert t[s.VESSEL_ACID_TOTAL] == before
    dosed = _dose(r, 4, m.OUT_ACID, 2000, 60000)[s.ACK_VALUE]
    r.host.command(5, V0, m.VERB_PRIME, m.OUT_BASE, 1000)  # not in the batch
    r.host.command(6, V0, m.VERB_SET_MODE, m.LOOP_TEMP, m.MODE_MANUAL)
    r.host.command(7, V0, m.VERB_SET_OUTPUT, m.OUT_HEATER, 50)
    r.run_linked(72000)  # 36 s on at 300 W: 10800 J, 3.00 Wh
    r.host.command(8, V0, m.VERB_SET_OUTPUT, m.OUT_HEATER, 0)
    t = _vessel(r)
    assert t[s.VESSEL_BATCH_ACID] == dosed and t[s.VESSEL_BATCH_BASE] == 0
    assert 290 <= t[s.VESSEL_BATCH_HEAT] <= 310  # centi-Wh: within one 2 s heater window
    r2 = r.reboot()  # the batch goes on; the heat since the last save is lost
    t2 = _vessel(r2)
    assert t2[s.VESSEL_BATCH] == 1 and t2[s.VESSEL_BATCH_ACID] == dosed
    _manual_ph(r2)
    r2.host.command(9, V0, m.VERB_BATCH_STOP)
    r2.run_linked(1000)
    assert _ack(r2, 9)[s.ACK_VALUE] == 1
    _dose(r2, 10, m.OUT_ACID, 500, 30000)  # after the batch
    t2 = _vessel(r2)
    assert t2[s.VESSEL_BATCH] == 0 and t2[s.VESSEL_BATCH_ACID] == dosed
    r2.host.command(11, V0, m.VERB_BATCH_STOP)
    r2.run_linked(1000)
    assert _ack(r2, 11)[s.ACK_VALUE] == 0  # none was running
