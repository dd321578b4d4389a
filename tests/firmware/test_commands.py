"""COMMANDs and outgoing values against the firmware runtime on the fake HAL: arguments are
checked before anything runs, exactly-once holds by time, the uptime wraps on the wire and a
value that does not fit its field costs one frame, never the board.

Plain asserts, no pytest features: pytest runs it on CPython and test_runtime_on_micropython.py
runs it under the MicroPython Unix port. It starts with a docstring so that
test_on_micropython.py (128 KB heap) leaves it alone.
"""

from rig import Rig

from pilotproto import messages as m
from pilotproto import schema as s

V0 = 0  # wire unit numbers on the sim board
C0 = 1
UNITS = (m.UNIT_BOARD, V0, C0)
KINDS = ("board", "vessel", "canister")  # of UNITS
# Refusals by the checks on decoding (also before any handler could change anything).
CHECKED = (m.REASON_BAD_UNIT, m.REASON_UNKNOWN_VERB, m.REASON_OUT_OF_RANGE)


def _acks(rig, cmd_id):
    return [a for a in rig.host.take(m.MSG_ACK) if a[s.ACK_CMD_ID] == cmd_id]


def _no_fault(rig, what=None):
    rt = rig.rt
    if rt.safety.state == m.STATE_FAULT or rt.safety.faults & 1:
        # The board's own LOG line names the task and the exception.
        logs = [v[s.LOG_TEXT] for v in rig.host.take(m.MSG_LOG)]
        raise AssertionError("fault %d after %r: %r" % (rt.safety.faults, what, logs))
    assert all(t.enabled for t in rt.sched.tasks)
    assert rt.link.tx_errors == 0


def _snapshot(rig):
    # What a command could change: params, persisted state, every plain attribute of the
    # units, their pumps and dose lines, modes, and every output pin.
    rt = rig.rt
    out = [repr(rt.params.values), repr(rt.state.data), rt.safety.state]
    for u in rt.units:
        pumps = list(getattr(u, "pumps", ()))
        for obj in [u] + pumps + [p.line for p in pumps]:
            d = obj.__dict__
            # (but the idle timer of the vessel's command code: loading it changes nothing)
            out.append(sorted((k, v) for k, v in d.items()
                              if (v is None or type(v) in (int, str)) and k != "_cmd_ms"))
        out.append(list(getattr(u, "modes", ())))
    out.append([rig.pin(o) for o in rig.board["outputs"]])
    return out


def _send_alone(rig, cmd_id, unit, verb, arg0, arg1):
    # One COMMAND handled by the link task alone (no other task runs, no time passes), so
    # the snapshots around it differ only by what the command did. Returns (ack, changed,
    # events sent).
    rt = rig.rt
    now = rig.clock.ticks_ms()
    while rt.events.count:
        rt.link.poll(now)
    rig.host.receive()
    rig.host.frames = []
    before = _snapshot(rig)
    rig.host.command(cmd_id, unit, verb, arg0, arg1)
    rt.link.poll(now)
    (ack,) = _acks(rig, cmd_id)
    return ack, _snapshot(rig) != before, rig.host.events()


def _cases(verb):
    # (arg0, arg1, in range) at, below and above each argument's spec range, the other
    # argument in range; for a range with gaps also a value in a gap.
    k = 5 * verb
    lo0, hi0, lo1, hi1 = m.VERB_CHECKS[k + 1 : k + 5]
    cases = [(a, lo1, lo0 <= a <= hi0) for a in (lo0 - 1, lo0, hi0, hi0 + 1)]
    cases += [(lo0, a, lo1 <= a <= hi1) for a in (lo1 - 1, hi1, hi1 + 1)]
    allowed = m.VERB_VALUES.get(2 * verb)
    if allowed is not None:
        gap = [v for v in range(lo0, hi0) if v not in allowed][0]
        cases = [(a0, a1, ok and a0 in allowed) for a0, a1, ok in cases] + [(gap, lo1, False)]
    return cases


def _sweep(rig, cmd_id):
    # Every verb (but REBOOT and TO_REPL, which reset or stop the board by design) to every
    # unit, at, below and above its ranges; unknown verbs and units. Returns the next cmd_id.
    sent = 0
    # Past the last verb first, SET_MODE last: the loops keep their modes for the others.
    for verb in range(len(m.VERB_CHECKS) // 5 + 1, -1, -1):
        if verb in (m.VERB_REBOOT, m.VERB_TO_REPL):
            continue
        for i in range(len(UNITS)):  # (MicroPython's zip() takes no strict=)
            unit, kind = UNITS[i], KINDS[i]
            takes = verb < len(m.VERB_CHECKS) // 5 and verb in _verbs_of(kind)
            for arg0, arg1, in_range in _cases(verb) if takes else [(0, 0, True)]:
                if sent and sent % 60 == 0:  # stay within the rate the memory is sized for
                    rig.run_linked(m.CMD_KEEP_MS + 2000)
                ack, changed, events = _send_alone(rig, cmd_id, unit, verb, arg0, arg1)
                what = (verb, unit, arg0, arg1, ack)
                result, reason = ack[s.ACK_RESULT], ack[s.ACK_REASON]
                if not takes:
                    assert result == m.RESULT_REJECTED and reason == m.REASON_UNKNOWN_VERB, what
                elif not in_range:
                    assert result == m.RESULT_REJECTED and reason == m.REASON_OUT_OF_RANGE, what
                if result == m.RESULT_REJECTED and reason != m.REASON_LIMIT:
                    # (an over-budget DOSE raises DOSE_LIMIT: reported, nothing switched)
                    assert not changed and not events, (what, events)
                _no_fault(rig, what)
                cmd_id += 1
                sent += 1
    for unit in (2, 254):  # no such unit on this board
        ack, changed, events = _send_alone(rig, cmd_id, unit, m.VERB_PING, 0, 0)
        assert ack[s.ACK_REASON] == m.REASON_BAD_UNIT and not changed and not events
        cmd_id += 1
    return cmd_id


def _verbs_of(kind):
    bit = 1 << KINDS.index(kind)
    return [v for v in range(len(m.VERB_CHECKS) // 5) if m.VERB_CHECKS[5 * v] & bit]


def test_every_verb_below_at_and_above_its_range_never_faults_and_a_refusal_changes_nothing():
    r = Rig()
    r.run_linked(3000)
    cmd_id = _sweep(r, 1)
    r.run_linked(m.CMD_KEEP_MS + 2000)
    for loop in (m.LOOP_PH, m.LOOP_TEMP, m.LOOP_ORP):  # MANUAL: SET_OUTPUT and DOSE act
        r.host.command(cmd_id, V0, m.VERB_SET_MODE, loop, m.MODE_MANUAL)
        cmd_id += 1
    r.run_linked(m.CMD_KEEP_MS + 2000)
    _sweep(r, cmd_id)
    r.run_linked(60000)  # whatever ran (doses, outputs, a valve) ends without a fault
    _no_fault(r)
    codes = [e[s.EVENT_CODE] for e in r.host.events()]
    assert m.EVENT_TASK_ERROR not in codes and m.EVENT_TX_ERROR not in codes


def test_ack_alarm_with_a_code_no_event_can_carry_is_refused_not_a_fault():
    # Before the checks, the EVENT echoing code 70000 or -1 failed to encode: link task
    # disabled, board in FAULT, reset by the watchdog.
    r = Rig()
    r.run_linked(2000)
    for cmd_id, unit, code in ((1, C0, 70000), (2, C0, -1), (3, V0, 70000), (4, V0, -1)):
        r.host.command(cmd_id, unit, m.VERB_ACK_ALARM, code)
        r.run_linked(1000)
        (ack,) = _acks(r, cmd_id)
        assert ack[s.ACK_RESULT] == m.RESULT_REJECTED
        assert ack[s.ACK_REASON] == m.REASON_OUT_OF_RANGE
    r.run_linked(3000)
    _no_fault(r)
    assert r.rt.safety.state == m.STATE_RUN


def test_a_value_that_does_not_fit_costs_its_frame_and_is_counted_and_logged():
    r = Rig()
    r.run_linked(2000)
    r.rt.events.push(m.UNIT_BOARD, m.EVENT_KIND_INFO, m.EVENT_BOOT, m.SEVERITY_INFO, 1 << 31)
    r.run_linked(2000)
    vessel = r.rt.units[0]
    vessel.alarms = 1 << 32  # VESSEL.alarms is a u32: every telemetry frame fails from here
    r.run_linked(3000)
    rt = r.rt
    assert rt.safety.state == m.STATE_RUN and all(t.enabled for t in rt.sched.tasks)
    events = r.host.events()
    assert not [e for e in events if e[s.EVENT_CODE] == m.EVENT_TASK_ERROR]
    lost = [e for e in events if e[s.EVENT_CODE] == m.EVENT_TX_ERROR]
    assert [e[s.EVENT_VALUE] for e in lost] == [m.MSG_EVENT * 1000] + [m.MSG_VESSEL * 1000] * 3
    assert [e[s.EVENT_LIMIT] for e in lost] == [1000, 2000, 3000, 4000]
    assert rt.link.tx_errors == 4
    logs = [v[s.LOG_TEXT] for v in r.host.take(m.MSG_LOG)]
    assert logs[0].startswith(b"EVENT not sent: ") and logs[1].startswith(b"VESSEL not sent")
    assert r.host.take(m.MSG_CANISTER)  # the other frames go on
    vessel.alarms = 0
    r.run_linked(2000)
    assert r.host.take(m.MSG_VESSEL) and rt.link.tx_errors == 4


def test_a_board_started_a_minute_before_the_uptime_wrap_runs_through_it():
    # Before, the HEARTBEAT failed to encode at 2**32 ms (49.7 days) and the board faulted.
    start = (1 << 32) - 60000
    r = Rig(uptime_ms=start)
    r.run_linked(120000)
    beats = [b[s.HEARTBEAT_UPTIME] for b in r.host.take(m.MSG_HEARTBEAT)]
    assert beats[0] >= start and beats[-1] < 60000  # through the wrap
    assert all((beats[i + 1] - beats[i]) % (1 << 32) == 1000 for i in range(len(beats) - 1))
    _no_fault(r)
    assert r.rt.safety.state == m.STATE_RUN
    assert r.rt.uptime.s < 1 << 30  # small ints on a 32-bit port
    r.host.command(1, C0, m.VERB_ACK_ALARM, m.EVENT_PRESSURE_HIGH)
    r.run_linked(1000)
    (ev,) = r.host.events(m.EVENT_PRESSURE_HIGH)
    assert 60000 <= ev[s.EVENT_UPTIME] < 62000  # EVENTs carry the wrapped uptime too


def test_dose_runs_once_with_40_other_commands_between_two_copies():
    # The old cache held the last 16 cmd_ids: 16 others in the retry window and a resent
    # DOSE ran twice. Now a cmd_id is kept by time.
    r = Rig()
    r.run_linked(3000)
    vessel = r.rt.units[0]
    r.host.command(7, V0, m.VERB_DOSE, m.OUT_ACID, 1000)  # 1 mL at 5 mL/min, 50 %: 24 s
    r.run_for(100)
    (first,) = _acks(r, 7)
    assert first[s.ACK_RESULT] == m.RESULT_IN_PROGRESS and first[s.ACK_VALUE] == 1000
    for i in range(40):  # board and unit commands, each new
        r.host.command(100 + i, (m.UNIT_BOARD, V0, C0)[i % 3], m.VERB_PING)
    r.run_for(200)
    assert len(r.host.take(m.MSG_ACK)) == 40
    r.host.command(7, V0, m.VERB_DOSE, m.OUT_ACID, 1000)  # the host's copy, 0.3 s later
    r.run_linked(1000)
    (again,) = _acks(r, 7)
    assert again[s.ACK_RESULT] == m.RESULT_IN_PROGRESS
    r.run_linked(30000)
    (done,) = [a for a in _acks(r, 7) if a[s.ACK_RESULT] == m.RESULT_DONE]
    for i in range(40):
        r.host.command(200 + i, V0, m.VERB_PING)
    r.run_linked(2 * (m.CMD_KEEP_MS // 1000) * 1000 // 2 - 2000)  # almost CMD_KEEP_MS on
    r.host.command(7, V0, m.VERB_DOSE, m.OUT_ACID, 1000)  # a copy late in the window
    r.run_linked(1000)
    assert _acks(r, 7) == [done]
    line = vessel.acid.line
    assert abs(line.total_ml * 1000 + line.total_ul - 1000) <= 5
    assert line.budget.hour.total == line.total_ml * 1000 + line.total_ul
    assert line.pending_ul == 0
    _no_fault(r)


def test_a_dose_reports_progress_until_done():
    r = Rig()
    r.run_linked(3000)
    r.host.command(9, V0, m.VERB_DOSE, m.OUT_ACID, 1000)
    r.run_linked(30000)
    acks = _acks(r, 9)
    progress = [a[s.ACK_PROGRESS] for a in acks]
    assert [a[s.ACK_RESULT] for a in acks[:-1]] == [m.RESULT_IN_PROGRESS] * (len(acks) - 1)
    assert acks[-1][s.ACK_RESULT] == m.RESULT_DONE and progress[-1] == 100
    assert progress[0] == 0 and len(progress) >= 4 and progress == sorted(progress)
    assert all(a[s.ACK_VALUE] == 1000 for a in acks[:-1])  # the volume being dosed


def test_new_commands_beyond_the_memory_are_refused_busy_and_not_remembered():
    r = Rig()
    r.run_linked(2000)
    n = m.CMD_MEMORY
    for cmd_id in range(1, n + 2):
        r.host.command(cmd_id, m.UNIT_BOARD, m.VERB_PING)
    r.run_for(500)
    acks = r.host.take(m.MSG_ACK)
    assert [a[s.ACK_RESULT] for a in acks] == [m.RESULT_DONE] * n + [m.RESULT_REJECTED]
    assert acks[-1][s.ACK_REASON] == m.REASON_BUSY
    r.host.command(1, m.UNIT_BOARD, m.VERB_PING)  # a remembered one is answered from memory
    r.host.command(n + 1, m.UNIT_BOARD, m.VERB_PING)  # the refused one is still new
    r.run_for(500)
    acks = r.host.take(m.MSG_ACK)
    assert acks[0][s.ACK_RESULT] == m.RESULT_DONE
    assert acks[1][s.ACK_REASON] == m.REASON_BUSY
    r.run_linked(m.CMD_KEEP_MS + 2000)  # the memory frees as its entries age
    r.host.command(n + 1, m.UNIT_BOARD, m.VERB_PING)
    r.run_for(500)
    assert _acks(r, n + 1)[0][s.ACK_RESULT] == m.RESULT_DONE


def test_another_host_saying_hello_does_not_make_the_board_forget():
    r = Rig()
    r.run_linked(3000)
    r.host.command(5, V0, m.VERB_DOSE, m.OUT_ACID, 500)
    r.run_for(100)
    hello = [0] * s.HELLO_NFIELDS
    hello[s.HELLO_BOARD_ID] = b"other-host"
    hello[s.HELLO_PROTO_VERSION] = m.VERSION
    hello[s.HELLO_SCHEMA_HASH] = m.SCHEMA_HASH
    r.host.send(m.MSG_HELLO, hello)
    r.run_for(100)
    r.host.command(5, V0, m.VERB_DOSE, m.OUT_ACID, 500)
    r.run_linked(20000)
    line = r.rt.units[0].acid.line
    assert 500 <= line.budget.hour.total <= 505 and line.pending_ul == 0  # one dose
