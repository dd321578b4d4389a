"""What a technician does to a board - status, set, mode, dose, ack, batch, a calibration's
steps - and the board's answer in words.

A request is plain data (it travels as a JSON line to a running logger's control endpoint):

    {"op": "set", "board": "sim", "unit": "v0", "args": {"param": "temp_sp",
     "value": "35 degC"}, "operator": "alice", "origin": "cli", "units": "degF"}

and is carried out by whoever owns the board's port, with execute(logger, request): a
running logger, or an in-process one on `--port`. Arguments are checked and converted here
(units with pint, ranges and enum names from the spec), every request that names a board is
written to the audit trail with its outcome, and the outcome says in words what the board
answered: done, in progress, rejected or failed, with the reason.
"""

import json
import threading
import time

from pilotproto import schema as s

from . import boardinfo, codec, units
from .display import Display, digits
from .errors import EncodeError, LinkError, PilotedgeError, UnitError, UsageError

# What a board's refusal means, for the person who asked (REASON members).
REASONS = {
    "UNKNOWN_VERB": "the unit does not take this command",
    "BAD_UNIT": "the board has no such unit",
    "OUT_OF_RANGE": "a value is outside what the board accepts",
    "LIMIT": "a dose limit",
    "BUSY": "busy: a dose is running, or more than 64 commands in 64 s",
    "NOT_READY": "not ready: its sensors are not valid, or it has no host link",
    "SAFE_STATE": "the unit is held safe by a fault or a trip",
    "WRONG_MODE": "wrong mode: a dose needs the pH loop in MANUAL or OFF, an output its "
                  "loop in MANUAL",
    "INTERNAL": "the board failed while carrying it out (see its LOG)",
    "UNKNOWN": "the board has no such parameter",
    "READ_ONLY": "the parameter is read-only",
    "STORE_FAILED": "the board could not store it in flash",
}
# Which dose limit refused a dose (LIMIT members, the ACK value of a LIMIT refusal).
LIMITS = {
    "CAP": "above the per-dose cap (dose_max)",
    "EMPTY": "its reservoir holds less than that",
    "INTERVAL": "too soon after the pump's last dose (dose_interval)",
    "LOCKOUT": "too soon after the other reagent's pump ran (ph_lockout)",
    "HOUR": "over the rolling hour budget (acid_ml_hour, base_ml_hour)",
    "DAY": "over the rolling day budget (acid_ml_day, base_ml_day)",
}
_WORDS = {"ACCEPTED": "done", "DONE": "done", "IN_PROGRESS": "in progress",
          "REJECTED": "rejected", "FAILED": "failed"}
OPS = ("status", "set", "mode", "dose", "ack", "batch", "cal")


def execute(logger, req, progress=None, os_user=None):
    """Carry out a request on a logger's board; return the outcome {"result", "reason",
    "text", ...}. progress(text) hears a dose's progress. PilotedgeError (one line) for a
    request that cannot be carried out; it is audited too once it names a board."""
    progress = progress or (lambda text: None)
    op = req.get("op")
    if op == "status":
        return {"status": [b for b in logger.status()
                           if req.get("board") in (None, b["board"], b["board_id"], b["port"])]}
    if op not in OPS:
        raise UsageError("unknown request %r (known: %s)" % (op, ", ".join(OPS)))
    port = logger.board(req.get("board", ""))
    display = Display(req.get("units"))
    key = object()
    audit = {"operator": req.get("operator") or os_user or "unknown", "os_user": os_user,
             "origin": req.get("origin", "cli"), "board": port.name or port.url,
             "unit": req.get("unit"), "command": op, "arguments": req.get("args", {})}
    logger.write("audit", key, dict(audit, host_time=time.time(), result="sent"))
    sent = False
    try:
        link = port.require_up()
        unit = boardinfo.find_unit(port.units, str(req.get("unit", "")), port.name)
        sent = True
        outcome = _HANDLERS[op](logger, port, link, unit, req.get("args", {}), display,
                                progress, audit["operator"])
    except PilotedgeError as exc:
        unsent = not sent or isinstance(exc, (UsageError, UnitError, EncodeError))
        logger.write("audit", key, {"result": "not sent" if unsent else "no answer",
                                    "reason": str(exc), "done": time.time()})
        raise
    logger.write("audit", key, {"result": outcome["result"], "reason": outcome.get("reason"),
                                "cmd_id": outcome.get("cmd_id"),
                                "answer": json.dumps(outcome.get("answer")),
                                "done": time.time()})
    return outcome


def _outcome(result, text, reason=None, **more):
    return dict(result=result, reason=reason, text="%s: %s" % (result, text), **more)


def _refusal(reason):
    return "%s (%s)" % (reason, REASONS.get(reason, "see the protocol's REASON list"))


def _command(link, unit, verb, arg0=0, arg1=0, on_progress=None):
    """ACK fields of a COMMAND to a unit that takes the verb."""
    kinds = s.VERBS[verb][0]
    if unit.kind not in kinds:
        raise UsageError("%s is a %s: %s is for %s" % (unit.name, unit.kind, verb.lower(),
                                                       " and ".join(kinds)))
    ack = link.command(unit.number, verb, arg0, arg1, on_progress=on_progress)
    fields = ack.fields()
    fields["cmd_id"] = ack.values[s.ACK_CMD_ID]
    return fields


def _ack_outcome(ack, done_text, reasons=None, **more):
    """The outcome of an ACK; reasons: what a REASON means for this command, where that is
    more than REASONS says."""
    result = _WORDS.get(ack["result"], ack["result"])
    if result in ("rejected", "failed"):
        why = _refusal(ack["reason"])
        limit = s.ENUMS["LIMIT"].get(ack["value"]) if ack["reason"] == "LIMIT" else None
        if reasons and ack["reason"] in reasons:
            why = "%s (%s)" % (ack["reason"], reasons[ack["reason"]])
            limit = None
        if limit in LIMITS:
            why = "%s: %s" % (why, LIMITS[limit])
        return _outcome(result, "%s: %s" % (done_text, why), ack["reason"],
                        cmd_id=ack["cmd_id"], answer=ack, **more)
    return _outcome(result, done_text, cmd_id=ack["cmd_id"], answer=ack, **more)


def _member(enum, text, what):
    """The spec member of enum `enum` a person typed (any case), or UsageError."""
    members = list(s.ENUMS[enum].values())
    for name in members:
        if name.lower() == str(text).lower():
            return name
    raise UsageError("unknown %s %r (one of: %s)" % (what, text, ", ".join(
        n.lower() for n in members)))


def _set(logger, port, link, unit, args, display, progress, operator):
    name = args.get("param", "")
    spec = codec.PARAMS.get(name)
    if spec is None or spec[0] != unit.kind:
        known = [p[1] for p in codec.PARAMS.values() if p[0] == unit.kind]
        raise UsageError("unknown parameter %r for %s %s (its parameters: %s)"
                         % (name, unit.kind, unit.name, ", ".join(known) or "none"))
    unit_text, scale = spec[2], spec[3]
    value = units.parse(str(args.get("value", "")), unit_text)
    codec.param_to_raw(name, value)  # the protocol's range, before anything is sent
    before = link.param_get(unit.number, name)
    after = link.param_set(unit.number, name, value)

    def show(v):
        return display.quantity(v, unit_text, digits(scale))

    answer = after._asdict()
    if after.result == "OK":
        return _outcome("done", "%s of %s on %s is %s (was %s)" % (
            name, unit.name, port.name, show(after.value), show(before.value)), answer=answer)
    return _outcome("rejected", "%s of %s on %s stays %s: %s" % (
        name, unit.name, port.name, show(after.value), _refusal(after.result)), after.result,
        answer=answer)


def _mode(logger, port, link, unit, args, display, progress, operator):
    loop = _member("LOOP", args.get("loop"), "loop")
    mode = _member("MODE", args.get("mode"), "mode")
    ack = _command(link, unit, "SET_MODE", loop, mode)
    return _ack_outcome(ack, "%s loop of %s on %s is %s" % (loop, unit.name, port.name, mode))


def _dose(logger, port, link, unit, args, display, progress, operator):
    pump = _member("OUT", args.get("pump"), "pump")
    volume_ul = int(round(units.parse(str(args.get("volume", "")), "mL") * 1000))
    if volume_ul < 1:
        raise UsageError("a dose of %r is less than the 1 uL a board can dose" % args["volume"])

    def ml(ul):
        return display.quantity(ul / 1000, "mL", 3)

    def tell(frame):
        f = frame.fields()
        percent = "" if f["progress"] == 255 else ", %d %%" % f["progress"]
        progress("in progress: %s of %s into %s%s" % (ml(f["value"] or volume_ul),
                                                       pump.lower(), unit.name, percent))

    ack = _command(link, unit, "DOSE", pump, volume_ul, on_progress=tell)
    if ack["result"] == "DONE":
        text = "%s of %s into %s on %s" % (ml(ack["value"]), pump.lower(), unit.name, port.name)
    elif ack["result"] == "FAILED":
        text = "%s of %s delivered into %s" % (ml(ack["value"]), ml(volume_ul), unit.name)
    else:
        text = "dose of %s of %s into %s" % (ml(volume_ul), pump.lower(), unit.name)
    return _ack_outcome(ack, text, volume_ul=volume_ul)


def _ack(logger, port, link, unit, args, display, progress, operator):
    alarm = _member("EVENT", args.get("alarm"), "alarm")
    ack = _command(link, unit, "ACK_ALARM", alarm)
    return _ack_outcome(ack, "%s acknowledged on %s on %s" % (alarm, unit.name, port.name))


def _batch(logger, port, link, unit, args, display, progress, operator):
    """A batch: the board's batch accounting started (its reagent and heater energy in
    telemetry), every control loop of a vessel to AUTO (as a scenario's operator does), and a
    batch row in the log; stopping it stops the unit's outputs and doses, ends the board's
    batch and turns the loops OFF."""
    action = args.get("action")
    if action not in ("start", "stop"):
        raise UsageError("batch takes start or stop, not %r" % action)
    if unit.kind not in s.VERBS["SET_MODE"][0]:
        raise UsageError("%s is a %s: batches run on %s" % (unit.name, unit.kind, " and ".join(
            s.VERBS["SET_MODE"][0])))
    mode = "AUTO" if action == "start" else "OFF"
    if action == "start":
        acks = [_command(link, unit, "BATCH_START")]
    else:
        acks = [_command(link, unit, "STOP"), _command(link, unit, "BATCH_STOP")]
    acks += [_command(link, unit, "SET_MODE", loop, mode) for loop in s.ENUMS["LOOP"].values()]
    refused = [a for a in acks if _WORDS.get(a["result"]) != "done"]
    if refused:
        return _ack_outcome(refused[0], "batch %s on %s: %s" % (
            action, unit.name, refused[0]["verb"]))
    logger.write("batch", port.src, unit.number, action == "start", time.time(), operator)
    return _outcome("done", "batch %s on %s on %s (loops %s %s)" % (
        {"start": "started", "stop": "stopped"}[action], unit.name, port.name,
        ", ".join(s.ENUMS["LOOP"].values()), mode), cmd_id=acks[-1]["cmd_id"], answer=acks)


# -- calibration, one step per request (pilotedge.calibrate walks a person through them) --

CAL_STEPS = ("start", "point", "finish", "cancel", "read")
_CAL_WORDS = {"PH": "pH", "ORP": "ORP", "ACID": "acid pump", "BASE": "base pump"}
_CAL_RECORD_WAIT_S = 2.0  # the board sends a record's CAL message along with its ACK
# What a calibration step's refusal means (protocol/README.md, Calibration).
_CAL_REASONS = {
    "start": {"BUSY": "a calibration is already under way on this vessel: finish it, or "
                      "`pilotedge cal cancel BOARD UNIT`",
              "OUT_OF_RANGE": "the vessel has no such sensor or pump, or the volume is too "
                              "small for one run",
              "NOT_READY": "the pump may not run: its vessel's pH is not valid, or the board "
                           "has no host link"},
    "point": {"OUT_OF_RANGE": "the board knows no such standard",
              "LIMIT": "every point this calibration takes is taken",
              "BUSY": "a point is being taken",
              "NOT_READY": "no calibration under way, the pump's run not over, or the "
                           "reading did not settle within 10 minutes",
              "NONE": "cancelled"},
    "finish": {"LIMIT": "the fit fails the health check: the calibration in force stays",
               "NOT_READY": "no calibration under way, or no point taken"},
    "cancel": {"NOT_READY": "no calibration under way"},
}


def _cal(logger, port, link, unit, args, display, progress, operator):
    step = args.get("step")
    if step not in CAL_STEPS:
        raise UsageError("a calibration step is one of %s, not %r" % (", ".join(CAL_STEPS),
                                                                      step))
    if step == "read":
        return _cal_read(port, link, unit, args)
    kind = _member("CAL_KIND", args.get("kind"), "calibration")
    what = "%s calibration of %s on %s" % (_CAL_WORDS[kind], unit.name, port.name)
    reasons = _CAL_REASONS[step]
    if step == "start":
        return _cal_start(link, unit, kind, args, what, progress)
    if step == "point":
        return _cal_point(link, unit, kind, args, what, display, progress)
    if step == "cancel":
        ack = _command(link, unit, "CAL_CANCEL")
        return _ack_outcome(ack, "%s cancelled: the board keeps the calibration it had" % what,
                            reasons)
    records, ack = _with_records(link, unit, lambda: _command(link, unit, "CAL_FINISH"))
    if ack["result"] != "DONE":
        return _ack_outcome(ack, "%s not stored" % what, reasons)
    record = next((r for r in records if r["kind"] == kind), None)
    logger.write("calibration_operator", port.src, unit.number, kind.lower(), operator)
    return _ack_outcome(ack, "%s stored on the board and in the log" % what, record=record)


def _cal_start(link, unit, kind, args, what, progress):
    volume_ul = 0
    if kind in ("ACID", "BASE"):
        volume_ul = int(round(units.parse(str(args.get("volume", "")), "mL") * 1000))

    def tell(frame):
        f = frame.fields()
        progress("in progress: %s running into the cylinder%s" % (
            _CAL_WORDS[kind], "" if f["progress"] == 255 else ", %d %%" % f["progress"]))

    ack = _command(link, unit, "CAL_START", kind, volume_ul, on_progress=tell)
    if ack["result"] != "DONE":
        return _ack_outcome(ack, "%s not started" % what, _CAL_REASONS["start"])
    if volume_ul:
        return _ack_outcome(ack, "%s: the pump ran %.1f s" % (what, ack["value"] / 1000),
                            on_ms=ack["value"])
    return _ack_outcome(ack, "%s started" % what)


def _cal_point(link, unit, kind, args, what, display, progress):
    if kind in ("ACID", "BASE"):
        measured_ul = int(round(units.parse(str(args.get("measured", "")), "mL") * 1000))
        ack = _command(link, unit, "CAL_POINT", measured_ul)
        if ack["result"] == "DONE":
            rate = ack["value"] / 1000
            return _ack_outcome(ack, "%s: %s measured, %s" % (
                what, display.quantity(measured_ul / 1000, "mL", 1),
                display.quantity(rate, "mL/min", 3)), rate=rate)
        return _ack_outcome(ack, "%s: the volume not taken" % what, _CAL_REASONS["point"])
    temp_cdeg = int(round(units.parse(str(args.get("temperature", "")), "degC") * 100))

    first = []

    def tell(frame):
        if not first:  # the board's first answer only says it is reading
            first.append(frame)
            return
        f = frame.fields()
        progress("settling: %s, %d %% steady" % (display.quantity(f["value"] / 1000, "mV", 1),
                                                 f["progress"]))

    standard = args.get("standard")
    if not isinstance(standard, int):
        raise UsageError("a standard is its id, a number (pilotedge.calibrate.BUFFERS), not %r"
                         % standard)
    ack = _command(link, unit, "CAL_POINT", standard, temp_cdeg, on_progress=tell)
    if ack["result"] == "DONE":
        mv = ack["value"] / 1000
        return _ack_outcome(ack, "%s: stable at %s" % (what, display.quantity(mv, "mV", 1)),
                            mv=mv)
    return _ack_outcome(ack, "%s: no point taken" % what, _CAL_REASONS["point"])


def _with_records(link, unit, send):
    """(the CAL messages of the unit that came with an answer, the answer of send())."""
    records = []
    told = threading.Event()

    def take(frame):
        f = frame.fields()
        if f["unit"] == unit.number:
            records.append(f)
            told.set()

    cancel = link.subscribe(take, "CAL")
    try:
        ack = send()
        if ack["result"] == "DONE":
            told.wait(_CAL_RECORD_WAIT_S)
    finally:
        cancel()
    return records, ack


def _cal_read(port, link, unit, args):
    """Every calibration record of a vessel (or of one kind) as the board tells it."""
    wanted = args.get("kind", "all")
    kinds = (list(s.ENUMS["CAL_KIND"].values()) if wanted == "all"
             else [_member("CAL_KIND", wanted, "calibration")])
    records = []
    for kind in kinds:
        got, ack = _with_records(link, unit, lambda k=kind: _command(link, unit, "CAL_READ", k))
        if ack["result"] == "DONE":
            if not any(r["kind"] == kind for r in got):
                raise LinkError("%s on %s answered CAL_READ %s without its record"
                                % (unit.name, port.name, kind))
            records += [r for r in got if r["kind"] == kind][:1]
        elif wanted != "all" or ack["reason"] != "OUT_OF_RANGE":  # no ORP electrode, say
            return _ack_outcome(ack, "calibrations of %s on %s" % (unit.name, port.name))
    return _outcome("done", "%d calibration records of %s on %s" % (
        len(records), unit.name, port.name), records=records)


_HANDLERS = {"set": _set, "mode": _mode, "dose": _dose, "ack": _ack, "batch": _batch,
             "cal": _cal}


# -- status in words -------------------------------------------------------------------------

def status_lines(boards, display=None, now=None):
    """Lines a person reads for logger.status() data."""
    display = display or Display()
    now = now or time.time()
    lines = []
    for b in boards:
        head = "%s (%s) on %s: %s" % (b["board"] or "?", b["board_id"] or "no HELLO yet",
                                      b["port"], b["state"])
        if b["state"] != "up":
            head += " since %s" % time.strftime("%H:%M:%S", time.localtime(b["since"]))
            if b.get("detail"):
                head += " (%s)" % b["detail"]
        lines.append(head)
        if b.get("firmware"):
            health = b.get("health") or {}
            age = " last heartbeat %.1f s ago" % (now - health["host_time"]) if health else ""
            lines.append("  firmware %s, boot %s (%s), uptime %s, state %s,%s" % (
                b["firmware"], b["boot_count"], b["reset_cause"],
                _duration(b.get("uptime_s")), health.get("state", "?"), age))
        counters = b.get("counters")
        if counters:
            errors = sum(counters["errors"].values())
            lines.append("  link: %d frames in, %d out, %d bad, %d lost, board saw %s bad; "
                         "speed %gx" % (counters["rx_frames"], counters["tx_frames"], errors,
                                        counters["rx_lost"], counters["board_rx_errors"],
                                        b.get("speed", 1)))
        for u in b["units"]:
            if u["kind"] == "board":
                continue
            lines.append("  %s" % unit_line(u, display, now))
    return lines


def unit_line(u, display, now):
    """One unit's latest telemetry in words: "v0 vessel: pH 1.712 (sp 1.700 AUTO) ..."."""
    fields = u.get("fields")
    if fields is None:
        return "%s %s: no telemetry yet" % (u["unit"], u["kind"])
    msg_id = codec.message_id(u["msg"])
    spec = {f[0]: f for f in s.FIELDS[msg_id]}
    parts = []
    for name, value in fields.items():
        if name in ("unit", "sensor_ok"):
            continue
        _n, _code, scale, unit, enum, bits = spec[name]
        if name == "alarms":
            parts.append("alarms " + (alarm_names(u["kind"], value) or "none"))
        elif bits:
            on = [b.lower() for i, b in sorted(s.ENUMS[bits].items()) if value >> i & 1]
            parts.append("%s %s" % (name, ",".join(on) or "none"))
        elif enum or unit is None:
            parts.append("%s %s" % (name, value))
        else:
            parts.append("%s %s" % (name, display.quantity(value, unit, digits(scale))))
    return "%s %s (%.0f s ago): %s" % (u["unit"], u["kind"], now - u["host_time"],
                                       ", ".join(parts))


def alarm_names(kind, bits):
    """The EVENT names of a unit's alarms bits, e.g. "PH_HIGH,DOSE_LIMIT"."""
    base = boardinfo.ALARM_BASE.get(kind)
    if base is None or not bits:
        return ""
    return ",".join(s.ENUMS["EVENT"].get(base + i, str(base + i))
                    for i in range(32) if bits >> i & 1)


def _duration(seconds):
    if seconds is None:
        return "?"
    h, rest = divmod(int(seconds), 3600)
    return "%d:%02d:%02d" % (h, rest // 60, rest % 60)


def event_words(board, unit_name, f, display):
    """An EVENT in words: "sim v0 PH_HIGH raised (ALARM): 2.412 pH, limit 2.300 pH"."""
    unit = boardinfo.EVENT_UNITS.get(f["code"])
    text = "%s %s %s %s (%s)" % (board, unit_name, f["code"], f["kind"].lower(), f["severity"])
    if unit is not None and f["kind"] != "ACKNOWLEDGED":
        text += ": %s, limit %s" % (display.quantity(f["value"], unit, 3),
                                    display.quantity(f["limit"], unit, 3))
    return text
