# pilotedge: the protocol endpoint on hal.uart (MIT).
#
# Receives with a non-blocking readinto() into a preallocated buffer and the shared
# framing.Decoder; answers HELLO, tracks host heartbeats (link lost after LINK_LOST_MISSED),
# checks and runs COMMANDs exactly once, serves PARAM_GET/SET, and sends HEARTBEAT,
# telemetry, EVENTs and rate-limited LOGs. Every layout, verb and argument range comes from
# the generated spec tables; a unit is to the endpoint an object with a KIND, command(),
# stop(), set_link() and a telemetry value list for its MSG_ID. Telemetry and heartbeat
# frames are encoded from value lists allocated once and refilled in place, so sending them
# allocates nothing.
#
# A COMMAND runs only when its unit takes the verb and its arguments are in range (spec:
# VERBS); its answer is kept in the exactly-once memory (runtime/acks.py), so a
# retransmission gets the kept ACK and never reruns. An outgoing value that does not fit
# its field costs that one frame, never the link: it is counted (EVENT TX_ERROR) and logged.

from compat import const, mem_free
from pilotproto import framing
from pilotproto import messages as m
from runtime import VERSION
from runtime.acks import CommandMemory
from runtime.params import BOARD

_RX_BYTES = const(128)  # per readinto; a pass reads at most _RX_READS of them
_RX_READS = const(4)
_EVENTS_PER_PASS = const(4)
_LINK_TIMEOUT_MS = m.LINK_LOST_MISSED * m.HEARTBEAT_MS + m.HEARTBEAT_MS // 2
_LOG_BURST = const(5)  # LOG token bucket: burst size, and one token back per _LOG_REFILL_MS
_LOG_REFILL_MS = const(1000)
_PROGRESS_UNKNOWN = const(255)
_TX_ERRORS_WRAP = const(1000000)  # TX_ERROR limit = count x 1000 must fit an i32


def _name(raw):
    # A NUL-padded 16s field as str (command path only: this allocates); "?" if not UTF-8,
    # which no parameter is called, so a garbled name is answered UNKNOWN.
    end = raw.find(b"\x00")
    try:
        return (raw if end < 0 else raw[:end]).decode()
    except ValueError:
        return "?"


def _progress_of(result):
    # ACK progress of an answer that gives none: 100 once done, 0 just started, else unknown.
    if result == m.RESULT_DONE:
        return 100
    return 0 if result == m.RESULT_IN_PROGRESS else _PROGRESS_UNKNOWN


def _fits(value, arg):
    # An argument against its spec range (min, max, allowed values or None).
    lo, hi, allowed = arg
    return lo <= value <= hi and (allowed is None or value in allowed)


class Link:
    def __init__(self, hal, board, units, params, safety, events, sched, uptime, state):
        self._uart = hal.uart
        self._clock = hal.clock
        self._units = units
        self._params = params
        self._safety = safety
        self._events = events
        self._sched = sched
        self._uptime = uptime
        self._state = state
        self._board_id = board["board"].encode()[:16]
        self._enc = framing.Encoder()
        self._dec = framing.Decoder()
        self._rx = bytearray(_RX_BYTES)
        self._on_frame = self._handle  # bound once: feed() must not allocate a bound method
        self._hb = [0] * m.HEARTBEAT_NFIELDS
        self._pv = [0] * m.PARAM_VALUE_NFIELDS
        self._memory = CommandMemory()
        self.tx_errors = 0  # frames not sent because a value did not fit (wraps)
        self.up = False  # host heartbeats arriving
        self._host_hb_ms = 0
        self._hb_due_ms = None
        self._log_tokens = _LOG_BURST
        self._log_ms = 0
        self.pending = None  # VERB_REBOOT / VERB_TO_REPL to carry out after this pass
        self.on_fault = None  # on_fault(exc): a command handler raised (set by app.py)
        self._now_ms = 0

    # -- receive ----------------------------------------------------------------------------

    def poll(self, now_ms):
        # The link task: receive and handle frames, watch the host, send heartbeat/events.
        self._now_ms = now_ms
        for _ in range(_RX_READS):
            n = self._uart.readinto(self._rx)
            if not n:
                break
            self._dec.feed(self._rx, n, self._on_frame)
        clock = self._clock
        if self.up and clock.ticks_diff(now_ms, self._host_hb_ms) > _LINK_TIMEOUT_MS:
            self._set_up(False)
        if self._hb_due_ms is None or clock.ticks_diff(now_ms, self._hb_due_ms) >= 0:
            self._hb_due_ms = clock.ticks_add(now_ms, m.HEARTBEAT_MS)
            self._send_heartbeat()
        for _ in range(_EVENTS_PER_PASS):
            ev = self._events.peek()
            if ev is None:
                break
            self._events.pop()  # first: an event that cannot be sent is not tried again
            self._send(m.MSG_EVENT, ev)

    def _handle(self, msg_id, seq, flags, body, n):
        if msg_id == m.MSG_HEARTBEAT:
            self._host_hb_ms = self._now_ms
            if not self.up:
                self._set_up(True)
        elif msg_id == m.MSG_HELLO:
            self.send_hello()
        elif msg_id == m.MSG_COMMAND:
            v = framing.unpack(msg_id, body, n)
            self._command(
                v[m.COMMAND_CMD_ID],
                v[m.COMMAND_UNIT],
                v[m.COMMAND_VERB],
                v[m.COMMAND_ARG0],
                v[m.COMMAND_ARG1],
            )
        elif msg_id == m.MSG_PARAM_GET:
            v = framing.unpack(msg_id, body, n)
            unit = v[m.PARAM_GET_UNIT]
            name = _name(v[m.PARAM_GET_NAME])
            self._param_value(unit, self._params.get(unit, name, v[m.PARAM_GET_INDEX]))
        elif msg_id == m.MSG_PARAM_SET:
            v = framing.unpack(msg_id, body, n)
            unit = v[m.PARAM_SET_UNIT]
            name = _name(v[m.PARAM_SET_NAME])
            self._param_value(unit, self._params.set(unit, name, v[m.PARAM_SET_VALUE]))
        # Board-to-host messages arriving here are ignored.

    def _set_up(self, up):
        self.up = up
        for u in self._units:
            u.set_link(up)
        code = m.EVENT_LINK_RESTORED if up else m.EVENT_LINK_LOST
        kind = m.EVENT_KIND_CLEARED if up else m.EVENT_KIND_RAISED
        self._events.push(m.UNIT_BOARD, kind, code, m.SEVERITY_WARNING)

    # -- commands ---------------------------------------------------------------------------

    def _command(self, cmd_id, unit, verb, arg0, arg1):
        mem = self._memory
        i = mem.find(cmd_id)
        if i >= 0:
            self._send(m.MSG_ACK, mem.answer(i))  # a retransmission: answer, never rerun
            return
        now_s = self._uptime.s
        i = mem.free(now_s)
        if i < 0:
            # More new commands than the memory is sized for: refused, and not remembered.
            ack = mem.fill(cmd_id, verb, m.RESULT_REJECTED, m.REASON_BUSY, _PROGRESS_UNKNOWN, 0)
            self._send(m.MSG_ACK, ack)
            return
        reason = self._check(unit, verb, arg0, arg1)
        if reason != m.REASON_NONE:
            self._keep(i, cmd_id, verb, m.RESULT_REJECTED, reason, 0)
            return
        # Taken before the handler runs, so that a late answer it gives another command
        # cannot take this entry.
        mem.put(i, cmd_id, verb, m.RESULT_IN_PROGRESS, m.REASON_NONE, 0, 0, now_s)
        try:
            if unit == m.UNIT_BOARD:
                result, reason, value = self._board_command(verb)
            else:
                result, reason, value = self._units[unit].command(verb, arg0, arg1, cmd_id)
        except Exception as e:
            # A bug in a handler: the board goes to FAULT, but the link stays up to say so.
            self._keep(i, cmd_id, verb, m.RESULT_FAILED, m.REASON_INTERNAL, 0)
            self.on_fault(e)
            return
        self._keep(i, cmd_id, verb, result, reason, value)

    def _check(self, unit, verb, arg0, arg1):
        # REASON_NONE when the command may run: its unit exists and takes the verb, and both
        # arguments are in their spec ranges; else why not.
        if unit == m.UNIT_BOARD:
            kind = BOARD
        elif unit < len(self._units):
            kind = self._units[unit].KIND
        else:
            return m.REASON_BAD_UNIT
        spec = m.VERBS.get(verb)
        if spec is None or kind not in spec[0]:
            return m.REASON_UNKNOWN_VERB
        if not _fits(arg0, spec[1]) or not _fits(arg1, spec[2]):
            return m.REASON_OUT_OF_RANGE
        if kind != BOARD and verb != m.VERB_PING and self._safety.state == m.STATE_FAULT:
            return m.REASON_SAFE_STATE
        return m.REASON_NONE

    def _board_command(self, verb):
        if verb == m.VERB_STOP:
            for u in self._units:
                u.stop()
        elif verb == m.VERB_SAVE_CONFIG:
            if not self._params.save():
                return m.RESULT_FAILED, m.REASON_INTERNAL, 0
        elif verb != m.VERB_PING:
            self.pending = verb  # REBOOT / TO_REPL: after this pass, once the ACK is out
        return m.RESULT_DONE, m.REASON_NONE, 0

    def _keep(self, i, cmd_id, verb, result, reason, value, progress=None):
        # Keep an answer in memory entry i (its time restarts) and send it.
        if progress is None:
            progress = _progress_of(result)
        ack = self._memory.put(i, cmd_id, verb, result, reason, progress, value, self._uptime.s)
        self._send(m.MSG_ACK, ack)

    def done(self, cmd_id, verb, result, reason, value):
        # Final answer of a long command (a unit calls this when a DOSE ends).
        self._late(cmd_id, verb, result, reason, value, _progress_of(result))

    def progress(self, cmd_id, verb, percent, value):
        # A running long command reports (at least every PROGRESS_MS).
        self._late(cmd_id, verb, m.RESULT_IN_PROGRESS, m.REASON_NONE, value, percent)

    def _late(self, cmd_id, verb, result, reason, value, progress):
        # A later answer replaces the kept one, so a retransmission gets the newest; it is
        # sent unkept only if its entry is gone and the memory is full.
        mem = self._memory
        i = mem.find(cmd_id)
        if i < 0:
            i = mem.free(self._uptime.s)
        if i >= 0:
            self._keep(i, cmd_id, verb, result, reason, value, progress)
        else:
            self._send(m.MSG_ACK, mem.fill(cmd_id, verb, result, reason, progress, value))

    # -- transmit ---------------------------------------------------------------------------

    def _send(self, msg_id, values):
        try:
            frame = self._enc.encode(msg_id, values)
        except framing.EncodeError as e:
            self._tx_error(msg_id, e)
            return
        self._uart.write(frame)

    def _tx_error(self, msg_id, exc):
        # A value that does not fit its field: this frame is lost, nothing else. Counted in
        # an EVENT (value = message id, limit = frames lost so far) and told in a LOG line.
        self.tx_errors = (self.tx_errors + 1) % _TX_ERRORS_WRAP
        self._events.push(
            m.UNIT_BOARD,
            m.EVENT_KIND_INFO,
            m.EVENT_TX_ERROR,
            m.SEVERITY_WARNING,
            msg_id * 1000,
            self.tx_errors * 1000,
        )
        if msg_id != m.MSG_LOG:
            self.log(m.SEVERITY_WARNING, "%s not sent: %s" % (m.MESSAGES[msg_id][0], exc))

    def _param_value(self, unit, answer):
        name, value, index, count, result = answer
        pv = self._pv
        pv[m.PARAM_VALUE_UNIT] = unit
        pv[m.PARAM_VALUE_NAME] = name.encode()
        pv[m.PARAM_VALUE_VALUE] = value
        pv[m.PARAM_VALUE_INDEX] = index
        pv[m.PARAM_VALUE_COUNT] = count
        pv[m.PARAM_VALUE_RESULT] = result
        self._send(m.MSG_PARAM_VALUE, pv)

    def send_hello(self):
        v = [0] * m.HELLO_NFIELDS
        v[m.HELLO_BOARD_ID] = self._board_id
        v[m.HELLO_FW_MAJOR] = VERSION[0]
        v[m.HELLO_FW_MINOR] = VERSION[1]
        v[m.HELLO_FW_PATCH] = VERSION[2]
        v[m.HELLO_PROTO_VERSION] = m.VERSION
        v[m.HELLO_SCHEMA_HASH] = m.SCHEMA_HASH
        state = self._state.data
        v[m.HELLO_BOOT_COUNT] = state["boot"] & 0xFFFFFFFF  # counters wrap at their width
        v[m.HELLO_RESET_CAUSE] = state["reset"]
        v[m.HELLO_UPTIME] = self._uptime.ms
        for u in self._units:  # the count of each unit kind (spec: UNIT_KINDS)
            for kind, _section, at in m.UNIT_KINDS:
                if kind == u.KIND:
                    v[at] += 1
        self._send(m.MSG_HELLO, v)

    def _send_heartbeat(self):
        hb = self._hb
        sched = self._sched
        hb[m.HEARTBEAT_UPTIME] = self._uptime.ms
        hb[m.HEARTBEAT_STATE] = self._safety.state
        hb[m.HEARTBEAT_FAULTS] = self._safety.faults
        # Counters wrap at their field's width; the longest pass is a measure: it saturates.
        hb[m.HEARTBEAT_OVERRUNS] = sched.overruns & 0xFFFF
        hb[m.HEARTBEAT_CYCLE_MAX] = min(sched.cycle_max_ms * 10, 0xFFFF)
        hb[m.HEARTBEAT_HEAP_FREE] = mem_free()
        hb[m.HEARTBEAT_RX_ERRORS] = sum(self._dec.errors) & 0xFFFF
        self._send(m.MSG_HEARTBEAT, hb)

    def send_telemetry(self, now_ms):
        # The telemetry task: one frame per unit from its preallocated value list.
        for u in self._units:
            u.fill_telemetry()
            self._send(u.MSG_ID, u.telemetry)

    def log(self, level, text):
        # Rate-limited text for people; what exceeds the bucket is dropped.
        now = self._clock.ticks_ms()
        refill = self._clock.ticks_diff(now, self._log_ms) // _LOG_REFILL_MS
        if refill > 0:
            self._log_tokens = min(_LOG_BURST, self._log_tokens + refill)
            self._log_ms = now
        if self._log_tokens <= 0:
            return
        self._log_tokens -= 1
        v = [0] * m.LOG_NFIELDS
        v[m.LOG_LEVEL] = level
        v[m.LOG_TEXT] = text.encode()[: m.MAX_PAYLOAD - m.MESSAGES[m.MSG_LOG][2]]
        self._send(m.MSG_LOG, v)
