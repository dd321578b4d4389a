"""Guided calibration: a person and a board's calibration steps, one request at a time.

A Guide asks the person (which buffer, the volume in the cylinder, "press Enter when the
electrode is in it") and sends each step as a `cal` request (pilotedge.ops: START, POINTs,
FINISH, audited like every command) through whatever carries requests to the board: a
running logger's control endpoint, or a logger of its own on a port. Answers given up front
(buffers, volume) are checked before anything is sent; a person who types a wrong one is
asked again. Ctrl-C, an error or a rejected fit cancels the calibration (CAL_CANCEL): the
board keeps the calibration it had.

    guide = Guide(send)
    record = ph(guide, buffers=["4.01", "7.00"], temp="25 degC")
"""

import json
import sqlite3
import time

from . import units
from .errors import PilotedgeError, Refused, UnitError, UsageError

# The standards a board knows (firmware/control/standards.py, by the id CAL_POINT carries:
# a buffer's nominal pH in milli-pH; quinhydrone by the buffer it is saturated in).
BUFFERS = {"1.68": 1680, "4.01": 4010, "6.86": 6860, "7.00": 7000, "9.18": 9180,
           "10.01": 10010}
ORP_STANDARDS = {"quinhydrone_4.01": 4010, "quinhydrone_6.86": 6860}
PUMPS = ("acid", "base")
_MAX_BUFFERS = 3  # the board fits 1-3 pH points
_BACK = {"ph": "Rinse the electrode and put it back into the vessel",
         "orp": "Rinse the electrode and put it back into the vessel",
         "acid": "Put the pump's outlet back into the vessel",
         "base": "Put the pump's outlet back into the vessel"}
_HEALTH = {"GOOD": "GOOD", "WARN": "WARN (in force, but the electrode or pump is ageing)",
           "REJECT": "REJECT"}


class Guide:
    """The person (ask, say; yes: no "press Enter" pauses) and the board (send(args,
    progress) -> the outcome of a `cal` request with args to one board's unit)."""

    def __init__(self, send, ask=None, say=print, yes=False):
        self._send = send
        self._ask = ask or (lambda prompt: input(prompt))
        self.say = say
        self._yes = yes

    def step(self, kind, step, **args):
        """One step; Refused (with the board's answer in words) unless it is done."""
        outcome = self._send(dict(args, step=step, kind=kind), self.say)
        if outcome["result"] != "done":
            raise Refused(outcome["text"])
        return outcome

    def ask(self, prompt, read, default=None, option=None):
        """read(answer) of what the person types, asked again while read raises; option:
        how to give the answer up front, for when no one can type it."""
        while True:
            try:
                text = self._ask("%s%s: " % (prompt, " [%s]" % default if default else ""))
            except EOFError:
                raise UsageError("no answer to %r (input closed): give %s" % (
                    prompt, option or "it as an option")) from None
            try:
                return read(text.strip() or default or "")
            except PilotedgeError as exc:
                self.say(str(exc))

    def pause(self, text):
        """Wait for the person to do something (not with yes)."""
        if self._yes:
            self.say(text + ".")
        else:
            self.ask(text + ", then press Enter", lambda answer: answer,
                     option="--yes when no one is there to press Enter")

    def session(self, kind, take, **start):
        """START, take() the points, FINISH: the CAL record, told. Cancelled on any way
        out. The electrode goes back into the vessel before FINISH: from then on the board
        judges it afresh and its loop resumes once it reads the vessel."""
        started = False
        try:
            self.step(kind, "start", **start)
            started = True
            take()
            if kind not in PUMPS:
                self.pause(_BACK[kind])
            record = self.step(kind, "finish")["record"]
        except BaseException as exc:  # Ctrl-C too, in a pump's run as well
            if not (started or isinstance(exc, KeyboardInterrupt)):
                raise  # refused (another calibration under way, say) or never sent
            try:
                self.step(kind, "cancel")
                self.say("cancelled: the board keeps the calibration it had")
            except PilotedgeError as cancel_exc:
                self.say("could not cancel the calibration: %s" % cancel_exc)
            self.say(_BACK[kind] + ".")
            raise
        self.say(record_words(record))
        if kind in PUMPS:
            self.say(_BACK[kind] + ".")
        return record


def buffer_name(text):
    """The buffer a person means by "4.01", "4", "7" ...; UsageError naming the buffers."""
    try:
        wanted = float(text)
    except ValueError:
        wanted = None
    for name in BUFFERS:
        if wanted is not None and abs(float(name) - wanted) < 0.015 or text == name:
            return name
    raise UsageError("no pH buffer %r (buffers: %s)" % (text, ", ".join(BUFFERS)))


def orp_standard_name(text):
    """The ORP standard a person means: "quinhydrone_4.01", "4.01" (the buffer it is in)."""
    short = text.lower().replace("quinhydrone", "").strip(" _-")
    for name in ORP_STANDARDS:
        if text == name or name.endswith("_" + short):
            return name
    raise UsageError("no ORP standard %r (standards: %s)" % (text, ", ".join(ORP_STANDARDS)))


def temperature(text):
    """A standard's temperature as the board takes it ("25 degC", "77 degF")."""
    value = units.parse(text, "degC")
    if not 0 <= value <= 60:
        raise UnitError("%r is outside 0-60 degC, where the board's tables hold" % text)
    return "%.2f degC" % value


def volume(text):
    """A volume read off a cylinder or wanted from a run ("9.7 mL"), as "N mL"."""
    value = units.parse(text, "mL")
    if not 0.001 <= value <= 100:
        raise UnitError("%r is outside 0.001-100 mL, what one run can measure" % text)
    return "%g mL" % value


def ph(guide, buffers=(), temp=None):
    """A pH calibration in 1-3 buffers (asked for when not given); the record."""
    buffers = [buffer_name(b) for b in buffers]
    if len(buffers) > _MAX_BUFFERS:
        raise UsageError("a pH calibration takes 1 to %d buffers, not %d" % (
            _MAX_BUFFERS, len(buffers)))
    temp = temperature(temp) if temp else guide.ask("Temperature of the buffers",
                                                    temperature, "25 degC", "--temp")

    def take():
        taken = []
        while len(taken) < _MAX_BUFFERS:
            if buffers:
                name = buffers[len(taken)] if len(taken) < len(buffers) else ""
            else:
                name = guide.ask("Buffer %d (%s%s)" % (
                    len(taken) + 1, ", ".join(BUFFERS), "; Enter to fit" if taken else ""),
                    lambda t: buffer_name(t) if t or not taken else "", option="--buffer")
            if not name:
                return
            guide.pause("Rinse the electrode and put it into the pH %s buffer" % name)
            guide.say("waiting for the reading to settle (the board tells it every 10 s)")
            out = guide.step("ph", "point", standard=BUFFERS[name], temperature=temp)
            guide.say("stable: %.1f mV in the pH %s buffer" % (out["mv"], name))
            taken.append(name)

    return guide.session("ph", take)


def orp(guide, standard=None, temp=None):
    """An ORP calibration in one standard solution; the record."""
    standard = (orp_standard_name(standard) if standard else guide.ask(
        "Standard (%s)" % ", ".join(ORP_STANDARDS), orp_standard_name, option="--standard"))
    temp = temperature(temp) if temp else guide.ask("Temperature of the standard",
                                                    temperature, "25 degC", "--temp")

    def take():
        guide.pause("Rinse the electrode and put it into %s" % standard)
        guide.say("waiting for the reading to settle (the board tells it every 10 s)")
        out = guide.step("orp", "point", standard=ORP_STANDARDS[standard], temperature=temp)
        guide.say("stable: %.1f mV in %s" % (out["mv"], standard))

    return guide.session("orp", take)


def pump(guide, which, run="10 mL", measured=None):
    """A pump's rate by a timed run into a measuring cylinder; the record."""
    if which not in PUMPS:
        raise UsageError("no pump %r (pumps: %s)" % (which, ", ".join(PUMPS)))
    run = volume(run)
    measured = volume(measured) if measured else None
    guide.pause("Put an empty measuring cylinder for %s under the %s pump's outlet"
                % (run, which))

    def take():
        got = measured or guide.ask("Volume in the cylinder (e.g. 9.7 mL)", volume,
                                    option="--measured")
        out = guide.step(which, "point", measured=got)
        guide.say("measured %s: %.3f mL/min" % (got, out["rate"]))

    return guide.session(which, take, volume=run)


def record_words(r, now=None):
    """A CAL record in words: "ph: 2-point, slope 96.1 % of Nernst, offset 7.9 mV, GOOD;
    taken 2026-11-30 17:20, expires in 29.9 d"."""
    kind = r["kind"].lower()
    if not r["points"]:
        return "%s: not calibrated (%s)" % (kind, "the nominal rate" if kind in PUMPS
                                            else "the ideal electrode")
    # A pump's third point value is its nominal rate.
    return "%s; %s" % (_fit_words(kind, r, r["points"], r["temp1"], r["health"]),
                       expiry_words(r, now))


def _fit_words(kind, fit, points, nominal, health):
    """"ph: 2-point, slope 96.1 % of Nernst, offset 7.9 mV, GOOD" of a record's fit (a CAL
    message's fields or the fit the log keeps)."""
    if kind == "ph":
        words = "slope %.1f %% of Nernst, offset %.1f mV" % (fit["slope"], fit["offset"])
        if points == 3:
            words += " (above pH %.2f: %.1f %%, %.1f mV)" % (
                fit["break_ph"], fit["alk_slope"], fit["alk_offset"])
    elif kind == "orp":
        words = "offset %.1f mV" % fit["offset"]
    else:
        words = "rate %.3f mL/min (nominal %.3f, %+.1f %%)" % (
            fit["rate"], nominal, 100 * (fit["rate"] / nominal - 1) if nominal else 0)
    method = "timed run" if kind in PUMPS else "%d-point" % points
    return "%s: %s, %s, %s" % (kind, method, words, _HEALTH.get(health, health))


def expiry_words(r, now=None):
    """When a record was taken and when it expires, by the board's operating hours and the
    host's clock, whichever comes first (the board's rule)."""
    now = time.time() if now is None else now
    taken = (time.strftime("taken %Y-%m-%d %H:%M", time.localtime(r["wall_time"]))
             if r["wall_time"] else "taken at an unknown time")
    if not r["life"]:
        return taken + ", never expires"
    left_h = r["life"] - r["age"]
    if r["wall_time"]:
        left_h = min(left_h, r["life"] - (now - r["wall_time"]) / 3600)
    if r["expired"] or left_h <= 0:
        return taken + ", EXPIRED (still in force: calibrate again)"
    return taken + ", expires in %s" % _span(left_h)


def _span(hours):
    return "%.1f d" % (hours / 24) if hours >= 48 else "%.1f h" % hours


def logged(db, board=None, now=None):
    """Lines for the calibrations in a log (newest first), for when no logger runs."""
    now = time.time() if now is None else now
    sql = ("SELECT b.name, COALESCE(u.name, c.unit), c.sensor, c.points, c.fit, c.health, "
           "c.host_time, c.operator, c.expires FROM calibrations c "
           "JOIN boards b ON b.id = c.board "
           "LEFT JOIN units u ON u.board = c.board AND u.unit = c.unit")
    args = ()
    if board:
        sql += " WHERE b.name = ? OR b.board_id = ?"
        args = (board, board)
    try:
        with sqlite3.connect("file:%s?mode=ro" % db, uri=True) as con:
            rows = con.execute(sql + " ORDER BY c.host_time DESC", args).fetchall()
    except sqlite3.Error as exc:
        raise UsageError("cannot read calibrations from %s: %s" % (db, exc)) from None
    lines = []
    for name, unit, sensor, points, fit, health, at, operator, expires in rows:
        points = json.loads(points)
        left = ("never expires" if expires is None else "EXPIRED" if expires <= now
                else "expires in %s" % _span((expires - now) / 3600))
        lines.append("%s %s %s; taken %s%s, %s" % (
            name, unit, _fit_words(sensor, json.loads(fit), len(points), points[0][2], health),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(at)),
            " by %s" % operator if operator else "", left))
    return lines
