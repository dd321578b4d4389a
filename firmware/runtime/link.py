# pilotedge: the protocol endpoint on hal.uart (MIT).
#
# Receives with a non-blocking readinto() into a preallocated buffer and the shared
# framing.Decoder; answers HELLO, tracks host heartbeats (link lost after LINK_LOST_MISSED),
# runs COMMANDs exactly once, serves PARAM_GET/SET, and sends HEARTBEAT, telemetry, EVENTs
# and rate-limited LOGs. Telemetry and heartbeat frames are encoded from value lists that
# are allocated once and refilled in place, so sending them allocates nothing.
#
# Exactly once: the ACK of each of the last _CMD_CACHE cmd_ids is kept (in one flat ring of
# ACK value lists) and updated when a long command (DOSE) finishes; a retransmission gets the
# cached ACK and never reruns.
# A host HELLO starts a new host session and so forgets the cache (cmd_ids restart).

import struct

from compat import const, mem_free
from pilotproto import framing
from pilotproto import messages as m
from runtime import VERSION
from runtime.events import UNIT_BOARD

_CMD_CACHE = const(16)
_ACK = const(6)  # values of one ACK: cmd_id, verb, result, reason, progress, value
_RX_BYTES = const(128)  # per readinto; a pass reads at most _RX_READS of them
_RX_READS = const(4)
_EVENTS_PER_PASS = const(4)
_LINK_TIMEOUT_MS = m.LINK_LOST_MISSED * m.HEARTBEAT_MS + m.HEARTBEAT_MS // 2
_LOG_BURST = const(5)  # LOG token bucket: burst size, and one token back per _LOG_REFILL_MS
_LOG_REFILL_MS = const(1000)
_PROGRESS_UNKNOWN = const(255)
_BOARD_VERBS = (m.VERB_PING, m.VERB_STOP, m.VERB_SAVE_CONFIG, m.VERB_REBOOT, m.VERB_TO_REPL)


def _name(body, offset):
    # A NUL-padded 16s field as str (command path only: this allocates); "?" if not UTF-8,
    # which no parameter is called, so a garbled name is answered UNKNOWN.
    raw = bytes(body[offset : offset + 16])
    end = raw.find(b"\x00")
    try:
        return (raw if end < 0 else raw[:end]).decode()
    except ValueError:
        return "?"


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
        self._hb = [0, 0, 0, 0, 0, 0, 0]
        # Exactly-once cache: _CMD_CACHE ACK value lists (spec order) in one ring, cmd_id
        # first (-1: a free entry), and the list an ACK is sent from.
        self._acks = [-1] * (_CMD_CACHE * _ACK)
        self._ack = [0] * _ACK
        self._cmd_next = 0
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
            self._send(m.MSG_EVENT, ev)
            self._events.pop()

    def _handle(self, msg_id, seq, flags, body, n):
        p = m.HEADER_SIZE
        if msg_id == m.MSG_HEARTBEAT:
            self._host_hb_ms = self._now_ms
            if not self.up:
                self._set_up(True)
        elif msg_id == m.MSG_COMMAND:
            cmd_id, unit, verb, arg0, arg1 = struct.unpack_from("<IBBii", body, p)
            self._command(cmd_id, unit, verb, arg0, arg1)
        elif msg_id == m.MSG_PARAM_GET:
            unit, index = body[p], struct.unpack_from("<H", body, p + 17)[0]
            self._param_value(unit, self._params.get(unit, _name(body, p + 1), index))
        elif msg_id == m.MSG_PARAM_SET:
            unit, value = body[p], struct.unpack_from("<i", body, p + 17)[0]
            answer = self._params.set(unit, _name(body, p + 1), value)
            self._param_value(unit, answer)
            if answer[0] == "tlm_period" and answer[4] == m.PARAM_RESULT_OK:
                self._sched.set_period("tlm", answer[1])
        elif msg_id == m.MSG_HELLO:
            for i in range(0, _CMD_CACHE * _ACK, _ACK):  # a new host session: cmd_ids start over
                self._acks[i] = -1
            self.send_hello()
        # Board-to-host messages arriving here are ignored.

    def _set_up(self, up):
        self.up = up
        for u in self._units:
            u.set_link(up)
        code = m.EVENT_LINK_RESTORED if up else m.EVENT_LINK_LOST
        kind = m.EVENT_KIND_CLEARED if up else m.EVENT_KIND_RAISED
        self._events.push(UNIT_BOARD, kind, code, m.SEVERITY_WARNING)

    # -- commands ---------------------------------------------------------------------------

    def _cached(self, cmd_id):
        # Ring index of cmd_id's ACK, or -1.
        for i in range(0, _CMD_CACHE * _ACK, _ACK):
            if self._acks[i] == cmd_id:
                return i
        return -1

    def _send_ack(self, i):
        a = self._ack
        for k in range(_ACK):
            a[k] = self._acks[i + k]
        self._send(m.MSG_ACK, a)

    def _command(self, cmd_id, unit, verb, arg0, arg1):
        i = self._cached(cmd_id)
        if i >= 0:
            self._send_ack(i)  # retransmission: answer, don't rerun
            return
        try:
            result, reason, value = self._dispatch(cmd_id, unit, verb, arg0, arg1)
        except Exception as e:
            # A bug in a handler: the board goes to FAULT, but the link stays up to say so.
            self._store_ack(cmd_id, verb, m.RESULT_FAILED, m.REASON_INTERNAL, 0)
            self.on_fault(e)
            return
        self._store_ack(cmd_id, verb, result, reason, value)

    def _dispatch(self, cmd_id, unit, verb, arg0, arg1):
        if unit == UNIT_BOARD:
            return self._board_command(verb)
        if unit >= len(self._units):
            return m.RESULT_REJECTED, m.REASON_BAD_UNIT, 0
        if self._safety.state == m.STATE_FAULT and verb != m.VERB_PING:
            return m.RESULT_REJECTED, m.REASON_SAFE_STATE, 0
        return self._units[unit].command(verb, arg0, arg1, cmd_id)

    def _board_command(self, verb):
        if verb not in _BOARD_VERBS:
            return m.RESULT_REJECTED, m.REASON_UNKNOWN_VERB, 0
        if verb == m.VERB_STOP:
            for u in self._units:
                u.stop()
        elif verb == m.VERB_SAVE_CONFIG:
            if not self._params.save():
                return m.RESULT_FAILED, m.REASON_INTERNAL, 0
        elif verb != m.VERB_PING:
            self.pending = verb  # after this pass, once the ACK is out
        return m.RESULT_DONE, m.REASON_NONE, 0

    def _store_ack(self, cmd_id, verb, result, reason, value):
        i = self._cmd_next
        self._cmd_next = (i + _ACK) % (_CMD_CACHE * _ACK)
        self._fill_ack(i, cmd_id, verb, result, reason, value)

    def _fill_ack(self, i, cmd_id, verb, result, reason, value):
        a = self._acks
        a[i] = cmd_id
        a[i + 1] = verb
        a[i + 2] = result
        a[i + 3] = reason
        a[i + 4] = 100 if result == m.RESULT_DONE else _PROGRESS_UNKNOWN
        a[i + 5] = value
        self._send_ack(i)

    def done(self, cmd_id, verb, result, reason, value):
        # Final answer of a long command (a unit calls this when a DOSE ends); the cache
        # keeps it so a retransmission after the end gets the final result.
        i = self._cached(cmd_id)
        if i >= 0:
            self._fill_ack(i, cmd_id, verb, result, reason, value)
        else:
            self._store_ack(cmd_id, verb, result, reason, value)

    # -- transmit ---------------------------------------------------------------------------

    def _send(self, msg_id, values):
        self._uart.write(self._enc.encode(msg_id, values))

    def _param_value(self, unit, answer):
        name, value, index, count, result = answer
        self._send(m.MSG_PARAM_VALUE, [unit, name.encode(), value, index, count, result])

    def send_hello(self):
        counts = [0, 0]
        for u in self._units:
            counts[u.MSG_ID == m.MSG_CANISTER] += 1
        state = self._state.data
        self._send(
            m.MSG_HELLO,
            [
                self._board_id,
                VERSION[0],
                VERSION[1],
                VERSION[2],
                m.VERSION,
                m.SCHEMA_HASH,
                state["boot"],
                state["reset"],
                counts[0],
                counts[1],
                self._uptime.ms,
            ],
        )

    def _send_heartbeat(self):
        hb = self._hb
        sched = self._sched
        hb[0] = self._uptime.ms
        hb[1] = self._safety.state
        hb[2] = self._safety.faults
        hb[3] = min(sched.overruns, 0xFFFF)
        hb[4] = min(sched.cycle_max_ms * 10, 0xFFFF)
        hb[5] = mem_free()
        hb[6] = min(sum(self._dec.errors), 0xFFFF)
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
        data = text.encode()[: m.MAX_PAYLOAD - 1]
        self._send(m.MSG_LOG, [level, data])
