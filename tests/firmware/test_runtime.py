"""The firmware runtime on the fake HAL, driven through real protocol frames.

Plain asserts, no pytest features: pytest runs it on CPython and test_runtime_on_micropython.py
runs the same module under the MicroPython Unix port. It starts with a docstring so that
test_on_micropython.py (128 KB heap) leaves it alone: the whole firmware's bytecode does not
fit a 128 KB heap on the 64-bit Unix port (see test_runtime_on_micropython.py).
"""

from rig import Rig

from compat import threshold
from drivers import ads1115
from pilotproto import messages as m
from pilotproto import schema as s
from runtime.safety import FAULT_TASK

V0 = 0  # wire unit numbers on the sim board
C0 = 1
OUTPUTS = ("v0_acid", "v0_base", "v0_heater", "v0_aeration", "c0_inlet")


def _ok(acks, cmd_id, result=m.RESULT_DONE):
    got = [a for a in acks if a[0] == cmd_id]
    assert got and got[-1][2] == result, (cmd_id, got)
    return got[-1]


def _connected(rig):
    return rig.run_linked


def _set_modes(rig, cmd_id, modes):
    for loop, mode in modes:
        rig.host.command(cmd_id, V0, m.VERB_SET_MODE, loop, mode)
        cmd_id += 1
    rig.run_for(100)


def test_outputs_safe_at_boot_until_sensors_are_valid():
    r = Rig()
    r.rt.state.set_modes("v0", [m.MODE_AUTO, m.MODE_AUTO, m.MODE_AUTO])
    r = r.reboot()  # AUTO everywhere, vessel cold: the heater wants to run at once
    r.plant.temp_c = 20.0
    assert [r.pin(o) for o in OUTPUTS] == [0] * 5
    seen = []
    for _ in range(9):  # until the first valid temperature (DS18B20 conversion: 1 s)
        r.run_for(100)
        seen.append(sum(r.pin(o) for o in OUTPUTS))
        seen.append(r.rt.units[0].heater.duty_pct)
    assert seen == [0] * 18
    r.run_for(1500)
    assert r.rt.units[0].heater.duty_pct > 0 and r.rt.safety.state == m.STATE_RUN


def test_the_build_leaves_the_collector_as_it_was():
    # app.build() collects every few KB while it builds, then restores what it found (on
    # MicroPython; compat.threshold does nothing on CPython, where both reads give -1).
    before = threshold()
    threshold(8192)
    found = threshold()
    try:
        Rig()
        assert threshold() == found
    finally:
        threshold(before)


def test_hello_reports_identity_and_boot_count():
    r = Rig()
    r.run_for(100)
    r.host.take(m.MSG_HELLO)  # the unsolicited one at start
    r.host.send(m.MSG_HELLO, [b"host", 0, 1, 0, m.VERSION, m.SCHEMA_HASH, 0, 0, 0, 0, 0])
    r.run_for(100)
    (hello,) = r.host.take(m.MSG_HELLO)
    assert hello[0].rstrip(b"\0") == b"sim" and hello[5] == m.SCHEMA_HASH
    assert hello[6] == 1 and hello[7] == m.RESET_POWER_ON and hello[8:10] == [1, 1]
    r2 = r.reboot(cause=m.RESET_WATCHDOG)
    r2.run_for(100)
    (hello,) = r2.host.take(m.MSG_HELLO)
    assert hello[6] == 2 and hello[7] == m.RESET_WATCHDOG
    assert r2.host.events(m.EVENT_WATCHDOG_RESET)


def test_heartbeat_rate_and_rx_errors():
    r = Rig()
    r.host.uart.feed(b"\x11\x22\x33\x00garbage\x00")
    r.run_for(5000)
    beats = r.host.take(m.MSG_HEARTBEAT)
    assert [beats[i + 1][0] - beats[i][0] for i in range(4)] == [1000] * 4
    assert beats[-1][6] == 2 and beats[-1][1] == m.STATE_RUN  # two bad frames, no fault
    assert len(r.host.take(m.MSG_VESSEL)) == 5 and len(r.host.take(m.MSG_CANISTER)) == 5


def test_task_exception_faults_the_board_and_stops_the_watchdog():
    r = Rig()
    link = _connected(r)
    _set_modes(r, 1, [(m.LOOP_TEMP, m.MODE_AUTO), (m.LOOP_ORP, m.MODE_AUTO)])
    r.plant.temp_c = 20.0
    link(3000)
    vessel = r.rt.units[0]
    assert vessel.heater.duty_pct > 0 and r.pin("v0_aeration") == 1
    feeds = r.hal.wdt.feeds
    assert feeds > 0 and r.hal.wdt.timeout_ms == r.board["watchdog_ms"]

    def broken(now_ms):
        raise RuntimeError("sensor bug")

    vessel.temp.inp.read = broken
    link(2000)
    hb = r.host.take(m.MSG_HEARTBEAT)[-1]
    assert r.rt.safety.state == m.STATE_FAULT and hb[1] == m.STATE_FAULT and hb[2] & FAULT_TASK
    faults = r.host.events(m.EVENT_TASK_ERROR)
    assert faults and faults[0][1] == m.EVENT_KIND_FAULT and faults[0][0] == m.UNIT_BOARD
    logs = r.host.take(m.MSG_LOG)
    assert logs and b"sensor bug" in logs[0][1]
    assert [r.pin(o) for o in OUTPUTS] == [0] * 5
    assert all(o.inhibited for o in r.rt.safety.outputs)
    fed = r.hal.wdt.feeds
    link(3000)
    assert r.hal.wdt.feeds == fed  # not fed since the fault: the watchdog will reset
    r.host.command(50, V0, m.VERB_SET_OUTPUT, m.OUT_HEATER, 100)
    r.run_for(100)
    _ok(r.host.take(m.MSG_ACK), 50, m.RESULT_REJECTED)


def test_param_get_set_refusal_echo_and_hw_limit():
    r = Rig()
    r.run_for(100)
    h = r.host
    h.send(m.MSG_PARAM_GET, [C0, b"p_msl", 0])
    h.send(m.MSG_PARAM_GET, [V0, b"", 1])  # by index
    h.send(m.MSG_PARAM_GET, [V0, b"nosuch", 0])
    r.run_for(100)
    a, b, c = h.take(m.MSG_PARAM_VALUE)
    assert a[1].rstrip(b"\0") == b"p_msl" and a[2] == 28000 and a[5] == m.PARAM_RESULT_OK
    assert b[1].rstrip(b"\0") == b"temp_sp" and b[3:5] == [1, len(m.KIND_PARAMS[1][1])]
    assert c[5] == m.PARAM_RESULT_UNKNOWN
    # 35 bar is inside the spec range (40) but above this board's hw limit (30 bar).
    h.send(m.MSG_PARAM_SET, [C0, b"p_msl", 35000])
    h.send(m.MSG_PARAM_SET, [V0, b"pump_duty_max", 80])  # hw limit 50 %
    h.send(m.MSG_PARAM_SET, [V0, b"ph_sp", 2500])  # above ph_high: cross-field rule
    h.send(m.MSG_PARAM_SET, [C0, b"p_msl", 29000])
    r.run_for(100)
    refused1, refused2, refused3, accepted = h.take(m.MSG_PARAM_VALUE)
    assert refused1[2] == 28000 and refused1[5] == m.PARAM_RESULT_OUT_OF_RANGE
    assert refused2[2] == 50 and refused2[5] == m.PARAM_RESULT_OUT_OF_RANGE
    assert refused3[2] == 1700 and refused3[5] == m.PARAM_RESULT_OUT_OF_RANGE
    assert accepted[2] == 29000 and accepted[5] == m.PARAM_RESULT_OK
    r2 = r.reboot()
    assert r2.rt.params.values["c0"]["p_msl"] == 29000  # persisted
    r2.run_for(100)
    assert not r2.host.events(m.EVENT_CONFIG_DEFAULTS)


def test_tlm_period_param_changes_the_telemetry_rate():
    r = Rig()
    r.host.send(m.MSG_PARAM_SET, [m.UNIT_BOARD, b"tlm_period", 250])
    r.run_for(2000)
    assert len(r.host.take(m.MSG_VESSEL)) >= 7


def test_dose_runs_exactly_once_under_retransmission():
    r = Rig()
    link = _connected(r)
    link(2000)
    vessel = r.rt.units[0]
    r.host.command(7, V0, m.VERB_DOSE, m.OUT_ACID, 1000)  # 1 mL at 5 mL/min: 12 s on
    r.run_for(100)
    assert _ok(r.host.take(m.MSG_ACK), 7, m.RESULT_IN_PROGRESS)[5] == 1000
    for _ in range(3):  # the host did not hear the ACK and retransmits
        r.host.command(7, V0, m.VERB_DOSE, m.OUT_ACID, 1000)
        link(1000)
    acks = r.host.take(m.MSG_ACK)
    assert len(acks) == 3 and all(a[2] == m.RESULT_IN_PROGRESS for a in acks)
    link(30000)  # 12 s of pumping at the 50 % duty limit: 24 s
    done = _ok(r.host.take(m.MSG_ACK), 7, m.RESULT_DONE)
    line = vessel.acid.line
    assert 1000 <= done[5] <= 1005 and line.total_ml * 1000 + line.total_ul == done[5]
    r.host.command(7, V0, m.VERB_DOSE, m.OUT_ACID, 1000)  # retransmitted after the end
    link(20000)
    assert _ok(r.host.take(m.MSG_ACK), 7, m.RESULT_DONE) == done
    assert line.total_ml * 1000 + line.total_ul == done[5]  # still one dose
    on = r.hal.pin("acid_pump").history
    assert on[-1] == 0 and line.budget.hour.total == done[5] and line.pending_ul == 0


def test_dose_over_budget_is_rejected_with_limit():
    r = Rig()
    link = _connected(r)
    r.host.send(m.MSG_PARAM_SET, [V0, b"acid_ml_hour", 1500])  # 1.5 mL per hour
    link(2000)
    r.host.command(1, V0, m.VERB_DOSE, m.OUT_ACID, 1000)  # 24 s at the 50 % duty
    link(10000)
    r.host.command(2, V0, m.VERB_DOSE, m.OUT_ACID, 100)  # while it runs
    link(50000)
    r.host.command(3, V0, m.VERB_DOSE, m.OUT_ACID, 1000)  # 2 mL in the hour > 1.5
    r.host.command(4, V0, m.VERB_DOSE, m.OUT_BASE, 3000)  # base within ph_lockout of acid
    link(2000)
    acks = r.host.take(m.MSG_ACK)
    _ok(acks, 1)
    verdicts = [_ok(acks, i, m.RESULT_REJECTED) for i in (2, 3, 4)]
    assert [(a[s.ACK_REASON], a[s.ACK_VALUE]) for a in verdicts] == [
        (m.REASON_BUSY, 0), (m.REASON_LIMIT, m.LIMIT_HOUR), (m.REASON_LIMIT, m.LIMIT_LOCKOUT)]
    ev = r.host.events(m.EVENT_DOSE_LIMIT)
    # (the limit: 5/6 of the 1.5 mL, for an uncalibrated pump's error, units/dosing.py)
    assert len(ev) == 1 and ev[0][4] == 1000 and ev[0][5] == 1250
    alarms = r.host.take(m.MSG_VESSEL)[-1][s.VESSEL_ALARMS]
    assert alarms & (1 << (m.EVENT_DOSE_LIMIT - 20))
    r.host.command(5, V0, m.VERB_DOSE, m.OUT_ACID, 200)  # fits: the level clears
    link(3000)
    _ok(r.host.take(m.MSG_ACK), 5)  # (done within the 3 s)
    (cleared,) = r.host.events(m.EVENT_DOSE_LIMIT)
    assert cleared[s.EVENT_KIND] == m.EVENT_KIND_CLEARED


def test_manual_output_stops_on_link_loss_while_auto_continues():
    r = Rig()
    link = _connected(r)
    _set_modes(r, 1, [(m.LOOP_TEMP, m.MODE_AUTO), (m.LOOP_ORP, m.MODE_MANUAL)])
    r.plant.temp_c = 30.0
    link(2000)
    r.host.command(10, V0, m.VERB_SET_OUTPUT, m.OUT_AERATION, 100)
    link(2000)
    _ok(r.host.take(m.MSG_ACK), 10)
    vessel = r.rt.units[0]
    assert r.pin("v0_aeration") == 1 and vessel.heater.duty_pct > 0
    r.run_for(4000)  # no more heartbeats: 5 s since the last, so 4 missed, not yet lost
    assert r.pin("v0_aeration") == 1
    r.run_for(1000)
    assert r.pin("v0_aeration") == 0  # the host's manual output stopped
    assert r.host.events(m.EVENT_LINK_LOST)
    heater = r.hal.pin("heater_ssr")
    mark = len(heater.history)
    r.run_for(20000)
    # AUTO goes on: the heater was on at the mark or since (history records changes).
    assert vessel.heater.duty_pct > 0 and 1 in heater.history[mark - 1:]
    assert r.pin("v0_aeration") == 0
    link(1000)
    assert r.host.events(m.EVENT_LINK_RESTORED) and r.pin("v0_aeration") == 0


def test_set_output_needs_manual_mode_and_respects_limits():
    r = Rig()
    link = _connected(r)
    link(2000)
    h = r.host
    h.command(1, V0, m.VERB_SET_OUTPUT, m.OUT_HEATER, 50)  # loop is OFF
    _set_modes(r, 2, [(m.LOOP_TEMP, m.MODE_MANUAL), (m.LOOP_PH, m.MODE_MANUAL)])
    h.send(m.MSG_PARAM_SET, [V0, b"heater_max", 40])
    h.command(4, V0, m.VERB_SET_OUTPUT, m.OUT_HEATER, 90)
    h.command(5, V0, m.VERB_SET_OUTPUT, m.OUT_ACID, 100)
    h.command(6, V0, m.VERB_SET_OUTPUT, m.OUT_HEATER, 101)
    h.command(7, 9, m.VERB_PING)
    link(1000)
    acks = h.take(m.MSG_ACK)
    assert _ok(acks, 1, m.RESULT_REJECTED)[3] == m.REASON_WRONG_MODE
    assert _ok(acks, 4)[5] == 40 and r.rt.units[0].heater.duty_pct == 40
    assert _ok(acks, 5)[5] == 50  # the pump duty is capped by the hardware limit
    assert _ok(acks, 6, m.RESULT_REJECTED)[3] == m.REASON_OUT_OF_RANGE
    assert _ok(acks, 7, m.RESULT_REJECTED)[3] == m.REASON_BAD_UNIT
    pump = r.hal.pin("acid_pump")
    mark = len(pump.history)
    link(20000)
    on_ms = 0
    for _ in range(200):  # sample the pump for 20 s: on about half of the time
        r.host.heartbeat() if _ % 10 == 0 else None
        r.run_for(100)
        on_ms += 100 * pump.value()
    assert 9000 <= on_ms <= 11000 and 1 in pump.history[mark - 1:]


def _watch_canister(rig):
    # Record (trip latched, inlet energised) at the end of every canister cycle.
    can = rig.rt.units[1]
    log = []
    task = rig.rt.sched.find("c0")
    run = task.fn

    def watched(now_ms):
        run(now_ms)
        log.append((can.trip, can.inlet.active, rig.pin("c0_inlet")))

    task.fn = watched
    return can, log


def test_canister_msl_trip_closes_valve_same_cycle_and_latches_across_reboot():
    r = Rig()
    link = _connected(r)
    link(2000)
    r.host.command(1, C0, m.VERB_VALVE, 1)
    link(1000)
    _ok(r.host.take(m.MSG_ACK), 1)
    can, log = _watch_canister(r)
    r.run_for(500)
    assert r.pin("c0_inlet") == 1 and can.state == m.CAN_STATE_CHARGING
    r.plant.p_bar = 29.0  # above p_msl 28 bar (and RSL: that alone also closes the inlet)
    r.rt.params.values["c0"]["p_rsl"] = 28500  # so only the MSL tier can close it here
    r.run_for(1000)
    tripped = [i for i in range(len(log)) if log[i][0]]
    assert tripped, log
    first = tripped[0]
    assert log[first - 1] == (0, True, 1)  # open in the cycle before
    assert log[first] == (m.EVENT_PRESSURE_HIGH, False, 0)  # shut in the tripping cycle
    assert all(not active and not pin for _, active, pin in log[first:])
    ev = r.host.events(m.EVENT_TRIP)
    assert ev and ev[0][1] == m.EVENT_KIND_LATCHED and ev[0][4] == 29000
    r.plant.p_bar = 12.0
    r2 = r.reboot()
    link2 = _connected(r2)
    link2(2000)
    can2 = r2.rt.units[1]
    assert can2.trip == m.EVENT_PRESSURE_HIGH and can2.state == m.CAN_STATE_TRIPPED
    r2.host.command(1, C0, m.VERB_VALVE, 1)
    link2(1000)
    assert _ok(r2.host.take(m.MSG_ACK), 1, m.RESULT_REJECTED)[3] == m.REASON_SAFE_STATE
    assert r2.pin("c0_inlet") == 0
    r2.plant.p_bar = 29.0
    link2(2000)
    r2.host.command(2, C0, m.VERB_RESET_TRIP)  # the cause is back: refused
    link2(1000)
    assert _ok(r2.host.take(m.MSG_ACK), 2, m.RESULT_REJECTED)[3] == m.REASON_SAFE_STATE
    r2.plant.p_bar = 12.0
    link2(2000)
    r2.host.command(3, C0, m.VERB_RESET_TRIP)
    r2.host.command(4, C0, m.VERB_VALVE, 1)
    link2(1000)
    acks = r2.host.take(m.MSG_ACK)
    _ok(acks, 3)
    _ok(acks, 4)
    assert r2.pin("c0_inlet") == 1, (acks, r2.rt.units[1].state)
    assert r2.reboot().rt.units[1].trip == 0


def test_canister_sensor_fault_closes_the_inlet():
    r = Rig()
    link = _connected(r)
    link(2000)
    r.host.command(1, C0, m.VERB_VALVE, 1)
    link(1000)
    assert r.pin("c0_inlet") == 1
    r.world.supply.mv = 10.0  # the transducer supply collapsed: no ratio, no pressure
    link(1000)
    can = r.rt.units[1]
    # A sensor fault is a trip: latched until RESET_TRIP with the sensor back.
    assert r.pin("c0_inlet") == 0 and can.state == m.CAN_STATE_TRIPPED
    assert can.trip == m.EVENT_SENSOR_FAULT and r.host.events(m.EVENT_SENSOR_FAULT)
    assert r.rt.safety.state == m.STATE_SAFE
    r.host.command(2, C0, m.VERB_RESET_TRIP)
    link(1000)
    assert _ok(r.host.take(m.MSG_ACK), 2, m.RESULT_REJECTED)[3] == m.REASON_SAFE_STATE
    r.world.supply.mv = 3300.0
    link(1000)
    r.host.command(3, C0, m.VERB_RESET_TRIP)
    link(1000)
    _ok(r.host.take(m.MSG_ACK), 3)
    assert can.trip == 0 and can.state == m.CAN_STATE_IDLE


def test_vessel_sensor_fault_makes_outputs_safe():
    r = Rig()
    link = _connected(r)
    _set_modes(r, 1, [(m.LOOP_TEMP, m.MODE_AUTO), (m.LOOP_PH, m.MODE_AUTO)])
    r.plant.temp_c = 25.0
    link(3000)
    assert r.rt.units[0].heater.duty_pct > 0
    r.world.apply({"do": "sensor_open", "target": "v0_temp"})  # thermometer gone
    link(5000)
    v = r.rt.units[0]
    assert v.heater.duty_pct == 0 and not v.temp.ok
    assert r.rt.safety.state == m.STATE_SAFE
    # Only the thermometer is at fault; the pH is invalid without it (no compensation).
    assert [e[4] for e in r.host.events(m.EVENT_SENSOR_FAULT)] == [1000]
    tlm = r.host.take(m.MSG_VESSEL)[-1]
    assert tlm[s.VESSEL_SENSOR_OK] == 1 << 2 | 1 << 3  # ORP and the second thermometer
    r.world.apply({"do": "sensor_ok", "target": "v0_temp"})
    link(5000)
    assert r.rt.safety.state == m.STATE_SAFE  # plausible again, but not for 30 s yet
    link(30000)
    assert r.rt.safety.state == m.STATE_RUN and v.heater.duty_pct > 0


def test_corrupt_config_gives_last_good_copy_and_alarm():
    r = Rig()
    r.host.send(m.MSG_PARAM_SET, [V0, b"temp_sp", 4000])
    r.run_for(100)
    r.host.send(m.MSG_PARAM_SET, [V0, b"temp_sp", 4100])
    r.run_for(100)
    path = r.rt.params._record.path
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    raw[-3] ^= 0x10
    with open(path, "wb") as f:
        f.write(raw)
    r2 = r.reboot()
    assert r2.rt.params.values["v0"]["temp_sp"] == 4000  # the .bak copy
    r2.run_for(100)
    (ev,) = r2.host.events(m.EVENT_CONFIG_DEFAULTS)
    assert ev[4] == 1000 and r2.host.events(m.EVENT_CONFIG_INVALID) == []  # taken above
    r2.run_for(3000)
    assert r2.rt.safety.state == m.STATE_RUN


def test_events_queue_drops_the_oldest_when_nobody_listens():
    r = Rig()
    ev = r.rt.events
    for i in range(40):
        ev.push(m.UNIT_BOARD, m.EVENT_KIND_INFO, m.EVENT_BOOT, m.SEVERITY_INFO, i)
    assert ev.count == 16 and ev.dropped > 0 and ev.peek()[4] == 24


def test_reboot_verb_resets_after_the_ack():
    r = Rig()
    r.run_for(100)
    r.host.command(1, m.UNIT_BOARD, m.VERB_REBOOT)
    try:
        r.run_for(1000)
        raise AssertionError("no reset")
    except Exception as e:
        assert type(e).__name__ == "FakeReset"
    _ok(r.host.take(m.MSG_ACK), 1)
    assert r.rt.stopped and all(o.inhibited for o in r.rt.safety.outputs)


def test_ads_bus_failure_is_a_sensor_fault_not_a_crash():
    r = Rig()
    r.run_for(3000)
    r.hal.i2c("i2c0").stuck = True
    r.run_for(3000)
    assert r.rt.safety.state == m.STATE_SAFE
    assert ads1115.MUX  # the driver module is the one the rig models


def test_watchdog_not_fed_while_outputs_are_not_serviced():
    r = Rig()
    r.run_for(1000)
    fed = r.hal.wdt.feeds
    assert fed > 0
    r.rt.sched.find("io").fn = lambda now_ms: None  # runs, but no deadman is serviced
    r.run_for(1000)
    stalled = r.hal.wdt.feeds
    # Fed only while the last service was recent: 2 io periods, 10 passes of the 10 ms grid
    # the canister's 50 Hz pressure scan sets.
    assert stalled - fed <= 11
    r.run_for(3000)
    assert r.hal.wdt.feeds == stalled


def test_command_handler_error_faults_the_board_but_keeps_the_link():
    r = Rig()
    link = _connected(r)
    link(2000)

    def broken(verb, arg0, arg1, cmd_id):
        raise ValueError("handler bug")

    r.rt.units[1].command = broken
    r.host.command(9, C0, m.VERB_VALVE, 1)
    link(2000)
    assert _ok(r.host.take(m.MSG_ACK), 9, m.RESULT_FAILED)[3] == m.REASON_INTERNAL
    assert r.host.take(m.MSG_HEARTBEAT)[-1][1] == m.STATE_FAULT  # still reporting
    assert r.host.events(m.EVENT_TASK_ERROR)
    assert b"handler bug" in r.host.take(m.MSG_LOG)[0][1]
    assert [r.pin(o) for o in OUTPUTS] == [0] * 5
