"""What a running logger's boards show now: the model behind the dashboard and the plain
live view, fed with the logger's events (Logger(listen=True).events).

Per board: its state and link health (frames per second, bad frames, frames lost, time
since its last heartbeat); per unit: the latest readings, set points, modes and outputs,
the active alarms in words (acknowledged or not), a short trend of the main values, the
doses of the last hour and day against their budgets, the calibration in force. Nothing
here draws: pilotedge.dashboard and the plain view render LiveState.
"""

import collections
import time

from pilotproto import messages as m
from pilotproto import schema as s

from . import boardinfo, codec
from .display import Display, digits
from .ops import alarm_names, event_words

TREND_POINTS = 120  # samples kept per trend; a view shows the newest that fit
TREND_S = 10.0  # board seconds between trend samples
RATE_WINDOW_S = 5.0  # wall seconds frames per second are counted over
EVENT_LINES = 200
DOSE_STEP_S = 60.0  # board seconds between kept dose-counter samples (a day is 1440)
HOUR_S, DAY_S = 3600.0, 86400.0
# The main values of a unit kind, trended: (field, label).
TRENDED = {"vessel": (("ph", "pH"), ("temp", "T"), ("orp", "ORP")),
           "canister": (("pressure", "P"), ("soc", "SOC"))}
# Parameters a view reads from a board when it connects: budgets and alarm limits.
WATCHED_PARAMS = {"vessel": ("ph_low", "ph_high", "temp_high", "acid_ml_hour", "acid_ml_day",
                             "base_ml_hour", "base_ml_day"),
                  "canister": ("p_msl",)}
_EVENT_NUMBER = {name: number for number, name in s.ENUMS["EVENT"].items()}
_CAL_FLAGS = {name: bit for bit, name in s.ENUMS["CAL_FLAG"].items()}
TRIP_STATES = {"TRIPPED", "FAULT"}  # canister states a banner shows
BOARD_TROUBLE = {"SAFE", "FAULT"}  # board states a banner shows


class Alarm:
    """One active alarm of a unit, from its EVENTs (or its telemetry bits)."""

    def __init__(self, code, severity, value=None, limit=None, value_unit=None):
        self.code = code
        self.severity = severity
        self.value = value
        self.limit = limit
        self.value_unit = value_unit
        self.latched = False
        self.acknowledged = False
        self.cleared = False  # a latched alarm whose cause is gone, waiting for its ack


class UnitState:
    def __init__(self, board, unit):
        self.board = board
        self.name = unit.name
        self.number = unit.number
        self.kind = unit.kind
        self.fields = None  # the latest telemetry, readings it did not vouch for as None
        self.host_time = None
        self.trend = {f: collections.deque(maxlen=TREND_POINTS) for f, _l in
                      TRENDED.get(unit.kind, ())}
        self._next_trend = None
        self.doses = collections.deque()  # (board time, acid_total, base_total)
        self.alarms = {}  # code -> Alarm
        self.params = {}  # name -> value, from the board's PARAM_VALUEs
        self.calibrations = []  # from the log: dicts of history.Log.calibrations

    def telemetry(self, fields, host_time, board_time):
        self.fields = fields
        self.host_time = host_time
        if board_time is not None:
            if self._next_trend is None or board_time >= self._next_trend:
                for f in self.trend:
                    self.trend[f].append(fields.get(f))
                self._next_trend = board_time + TREND_S
            if self.kind == "vessel":
                self._dose(board_time, fields["acid_total"], fields["base_total"])
        self._alarm_bits(fields.get("alarms", 0))

    def calibration(self, f, now):
        """A record the board told (a CAL message), newest first as the log's are; the
        same kind's older one is no longer in force."""
        stored = f["wall_time"] or now
        c = {"sensor": f["kind"].lower(), "host_time": stored,
             "expires": stored + f["life"] * 3600 if f["life"] else None}
        self.calibrations = [c] + [x for x in self.calibrations if x["sensor"] != c["sensor"]]

    def _dose(self, t, acid, base):
        d = self.doses
        if d and t < d[-1][0]:
            d.clear()  # a new boot: its counters start again
        if len(d) < 2 or t - d[-2][0] >= DOSE_STEP_S:
            d.append((t, acid, base))
        else:
            d[-1] = (t, acid, base)  # keep the newest in the last slot
        while d and t - d[0][0] > DAY_S + DOSE_STEP_S:
            d.popleft()

    def dosed(self, window_s):
        """(acid mL, base mL) dosed in the last window_s board seconds (to DOSE_STEP_S; since
        the view started when that is later)."""
        if not self.doses:
            return 0.0, 0.0
        t, acid, base = self.doses[-1]
        for t0, a0, b0 in self.doses:
            if t - t0 <= window_s:
                return acid - a0, base - b0
        return 0.0, 0.0

    def _alarm_bits(self, bits):
        names = alarm_names(self.kind, bits).split(",") if bits else []
        for code in names:
            if code not in self.alarms:
                self.alarms[code] = Alarm(code, "ALARM")
        base = boardinfo.ALARM_BASE.get(self.kind)
        for code in list(self.alarms):
            number = _EVENT_NUMBER.get(code, -1)
            has_bit = base is not None and base <= number < base + 32
            if has_bit and code not in names and not self.alarms[code].latched:
                del self.alarms[code]  # its CLEARED event was lost

    def event(self, f):
        code, kind = f["code"], f["kind"]
        a = self.alarms.get(code)
        if kind in ("RAISED", "LATCHED"):
            if a is None or a.cleared:
                a = self.alarms[code] = Alarm(code, f["severity"])
            a.severity = f["severity"]
            a.value, a.limit = f["value"], f["limit"]
            a.value_unit = boardinfo.EVENT_UNITS.get(code)
            a.latched = a.latched or kind == "LATCHED"
        elif kind == "CLEARED" and a is not None:
            if a.latched and not a.acknowledged:
                a.cleared = True
            else:
                del self.alarms[code]
        elif kind == "ACKNOWLEDGED" and a is not None:
            a.acknowledged = True
            if a.cleared:
                del self.alarms[code]

    def unacknowledged(self):
        return [a for a in self.alarms.values() if not a.acknowledged]


class BoardState:
    def __init__(self, port):
        self.port = port
        self.units = {}  # unit number -> UnitState
        self.uptime = None  # board s, from its latest heartbeat
        self.heartbeat = None  # its fields
        self.heartbeat_at = None  # host time
        self._arrivals = collections.deque()  # host times of recent frames
        self.boot = None

    @property
    def name(self):
        return self.port.name or self.port.url

    def sync_units(self):
        """Units from the board's HELLO (again after a reboot)."""
        hello = self.port.hello
        key = hello and (hello["boot_count"], hello["board_id"])
        if key != self.boot:
            self.boot = key
            old = self.units
            self.units = {u.number: old.get(u.number) or UnitState(self, u)
                          for u in self.port.units if u.kind != "board"}
            return True
        return False

    def arrived(self, now):
        a = self._arrivals
        a.append(now)
        while a and now - a[0] > RATE_WINDOW_S:
            a.popleft()

    def frames_per_s(self, now):
        a = self._arrivals
        while a and now - a[0] > RATE_WINDOW_S:
            a.popleft()
        return len(a) / RATE_WINDOW_S

    def link_health(self, now):
        """{"state", "frames_per_s", "bad", "lost", "heartbeat_age"} of the board's link."""
        link = self.port.link
        counters = link.counters() if link is not None else None
        return {
            "state": self.port.state,
            "frames_per_s": self.frames_per_s(now),
            "bad": sum(counters["errors"].values()) if counters else None,
            "lost": counters["rx_lost"] if counters else None,
            "heartbeat_age": None if self.heartbeat_at is None else now - self.heartbeat_at,
            "speed": link.board_clock.rate if link is not None else None,
        }


class LiveState:
    """The boards of a logger as they are now; feed() it the logger's events.

    display: how values are shown (pilotedge.display.Display, e.g. --units degF).
    """

    def __init__(self, logger, display=None, clock=time.time):
        self.logger = logger
        self.display = display or Display()
        self.clock = clock
        self.boards = [BoardState(p) for p in logger.ports]
        self.events = collections.deque(maxlen=EVENT_LINES)  # lines in words, newest last
        self.event_count = 0  # lines ever added (a plain view prints the new ones)
        self.changed = True
        self.new_boots = []  # boards that (re)started since a view last looked
        for b in self.boards:
            if b.sync_units():
                self.new_boots.append(b)

    def board(self, port):
        for b in self.boards:
            if b.port is port:
                return b
        b = BoardState(port)
        self.boards.append(b)
        if b.sync_units():
            self.new_boots.append(b)
        return b

    def feed(self, item):
        """One logger event: ("frame", port, Frame) or ("note", port, text)."""
        kind, port, what = item
        b = self.board(port)
        now = self.clock()
        self.changed = True
        if kind == "note":
            self._event(now, "%s on %s: %s" % (b.name, port.url, what))
            return
        b.arrived(now)
        name = what.name
        if name == "HELLO":
            if b.sync_units():
                self.new_boots.append(b)
            return
        if name == "HEARTBEAT":
            f = what.fields()
            b.heartbeat, b.heartbeat_at, b.uptime = f, now, f["uptime"]
            return
        if name in _TELEMETRY:
            f = boardinfo.valid_readings(name, what.fields())
            u = b.units.get(f["unit"])
            if u is not None:
                u.telemetry(f, now, b.uptime)
        elif name == "EVENT":
            f = what.fields()
            u = b.units.get(f["unit"])
            if u is not None:
                u.event(f)
            self._event(now, event_words(b.name, port.unit_name(f["unit"]), f, self.display))
        elif name == "PARAM_VALUE":
            f = codec.engineering(what)
            u = b.units.get(f["unit"])
            if u is not None and f["result"] != "UNKNOWN":
                u.params[f["name"]] = f["value"]
        elif name == "LOG":
            f = what.fields()
            self._event(now, "%s LOG %s %s" % (b.name, f["level"], f["text"]))
        elif name == "CAL":
            f = codec.engineering(what)
            u = b.units.get(f["unit"])
            if u is not None and f["points"]:
                u.calibration(f, now)

    def note(self, text):
        """A line of the view's own (a command's outcome) among the events."""
        self._event(self.clock(), text)
        self.changed = True

    def _event(self, now, text):
        self.events.append("%s %s" % (time.strftime("%H:%M:%S", time.localtime(now)), text))
        self.event_count += 1

    def seed(self, log):
        """What the log knows that the boards do not repeat: alarms raised (and
        acknowledged) before the view started, calibrations in force."""
        for b in self.boards:
            units = {u.name: u for u in b.units.values()}
            for a in log.open_alarms(b.name):
                u = units.get(a["unit"])
                if u is not None:
                    alarm = u.alarms.setdefault(a["code"], Alarm(a["code"], a["severity"]))
                    alarm.value, alarm.limit = a["value"], a["limit"]
                    alarm.value_unit = a["value_unit"]
                    alarm.latched = bool(a["latched"])
                    alarm.acknowledged = a["acknowledged"] is not None
            for c in log.calibrations(b.name):
                u = units.get(c["unit"])
                if u is not None:
                    u.calibrations.append(c)

    def units(self):
        """Every unit of every board, in board order."""
        return [u for b in self.boards for u in b.units.values()]

    def trips(self):
        """Lines for the banner: trips, latched or critical alarms, boards held safe."""
        out = []
        for b in self.boards:
            hb = b.heartbeat or {}
            if hb.get("state") in BOARD_TROUBLE:
                out.append("%s is %s: outputs held safe (faults 0x%x)" % (
                    b.name, hb["state"], hb.get("faults", 0)))
            for u in b.units.values():
                state = (u.fields or {}).get("state")
                if u.kind == "canister" and state in TRIP_STATES:
                    out.append("%s %s %s" % (b.name, u.name, state))
                for a in u.alarms.values():
                    if a.code == "TRIP" or a.latched or a.severity == "CRITICAL":
                        out.append("%s %s %s %s%s" % (
                            b.name, u.name, a.code, "latched" if a.latched else "raised",
                            "" if a.acknowledged else ", not acknowledged"))
        return out


_TELEMETRY = {boardinfo.telemetry_message(kind) for kind in TRENDED}


# -- words ------------------------------------------------------------------------------

_SPEC = {(msg, f[0]): (f[3], f[2]) for msg in _TELEMETRY
         for f in s.FIELDS[codec.message_id(msg)]}


def value(display, msg, field, v, bare=False):
    """A reading with its unit (bare: without) and the spec's digits; '--' when not
    valid."""
    if v is None:
        return "--"
    unit, scale = _SPEC[(msg, field)]
    text = display.quantity(v, unit, digits(scale))
    return text.rsplit(" ", 1)[0] if bare and unit else text


def alarm_words(a, display):
    """"PH_HIGH 2.412 pH > 2.300 pH (not acked)"."""
    text = a.code
    if a.value_unit and a.value is not None:
        text += " %s (limit %s)" % (display.quantity(a.value, a.value_unit, 3),
                                    display.quantity(a.limit, a.value_unit, 3))
    if a.cleared:
        text += " cleared"
    return text + (" acked" if a.acknowledged else " NOT ACKED")


def dose_words(u, display):
    """Acid and base dosed in the last hour and day against the budgets the board enforces:
    an uncalibrated pump gets UNCAL_BUDGET_SIXTHS sixths of each (it may deliver 20 % over
    its nominal rate)."""
    bits = (u.fields or {}).get("cal")
    parts = []
    for reagent, i in (("acid", 0), ("base", 1)):
        uncalibrated = bits is not None and not bits >> _CAL_FLAGS[reagent.upper()] & 1
        spans = []
        for window, label, suffix in ((HOUR_S, "h", "hour"), (DAY_S, "d", "day")):
            used = u.dosed(window)[i]
            budget = u.params.get("%s_ml_%s" % (reagent, suffix))
            if budget is not None and uncalibrated:
                budget = round(budget * m.UNCAL_BUDGET_SIXTHS / 6, 1)
            spans.append("%s/%s %s" % (
                "%.1f" % used, "%g" % budget if budget is not None else "?", label))
        parts.append("%s %s mL" % (reagent, " ".join(spans)))
    return "  ".join(parts)


def calibration_words(u, now):
    """What the board says is calibrated (its cal bits, "!" expired; "uncalibrated") and the
    newest record's age and expiry, e.g. "cal ph orp! acid, ph 3 d old, expires in 27 d"."""
    bits = (u.fields or {}).get("cal")
    words = []
    if bits is not None:
        kinds = [k.lower() + "!" * (bits >> 2 * n - 1 & 1)
                 for n, k in sorted(s.ENUMS["CAL_KIND"].items()) if bits >> 2 * (n - 1) & 1]
        words.append("cal " + " ".join(kinds) if kinds else "uncalibrated")
    if u.calibrations:
        c = u.calibrations[0]
        age = (now - c["host_time"]) / DAY_S
        expiry = ("expired" if c["expires"] and c["expires"] < now else
                  "expires in %.0f d" % ((c["expires"] - now) / DAY_S) if c["expires"] else
                  "no expiry")
        words.append("%s%s %.0f d old, %s" % ("" if words else "cal ", c["sensor"], age, expiry))
    return ", ".join(words) or "cal n/a"


def spark(values, width):
    """A sparkline of the newest `width` values ('' for none; gaps as spaces)."""
    vals = list(values)[-width:]
    real = [v for v in vals if v is not None]
    if not real:
        return ""
    lo, hi = min(real), max(real)
    bars = "▁▂▃▄▅▆▇█"
    if hi == lo:
        return "".join(" " if v is None else bars[3] for v in vals)
    return "".join(" " if v is None else bars[min(7, int((v - lo) / (hi - lo) * 8))]
                   for v in vals)


def unit_lines(u, display, now, width=80):
    """The lines of one unit for a view of `width` columns: readings, outputs and budgets,
    a trend line, alarms."""
    f = u.fields
    head = "%s %s" % (u.name, u.kind)
    if f is None:
        return [head + ": no telemetry yet"]
    msg = boardinfo.telemetry_message(u.kind)

    def q(field, bare=False):
        return value(display, msg, field, f.get(field), bare)

    if u.kind == "vessel":
        outs = [b.lower() for i, b in sorted(s.ENUMS["OUT"].items()) if f["outputs"] >> i & 1]
        lines = [
            "%s  pH %s sp %s %s  T %s sp %s %s  ORP %s" % (
                head, q("ph", True), q("ph_sp", True), f["ph_mode"], q("temp"),
                q("temp_sp", True), f["temp_mode"], q("orp")),
            "  out %s  heater %d%%  %s" % (",".join(outs) or "none", f["heater"],
                                          calibration_words(u, now)),
            "  dosed %s" % dose_words(u, display),
        ]
    elif u.kind == "canister":
        soc = f.get("soc")
        lines = [
            "%s  P %s  shell %s  ambient %s" % (head, q("pressure"), q("shell_temp"),
                                                 q("ambient_temp")),
            "  SOC %s (%s)  %s  valve %s" % (
                q("soc") if soc is not None else "--", f["soc_valid"].lower(), f["state"],
                "open" if f["valve_open"] else "closed"),
        ]
    else:
        lines = [head]
    labels = TRENDED.get(u.kind, ())
    if labels:
        each = max(4, (width - 4) // len(labels) - 6)
        lines.append("  " + "  ".join("%s %s" % (label, spark(u.trend[field], each))
                                      for field, label in labels))
    alarms = list(u.alarms.values())
    lines.append("  alarms: " + ("; ".join(alarm_words(a, display) for a in alarms)
                                 if alarms else "none"))
    return lines


def board_line(b, now):
    """"sim0 sim 0.1.0 boot 3 up RUN 1:02:03 60x | 3.0 fr/s 0 bad 0 lost hb 0.2 s ago"."""
    hello = b.port.hello or {}
    health = b.link_health(now)
    hb = b.heartbeat or {}
    parts = ["%s %s %s boot %s" % (b.name, hello.get("board_id", "?"), "%d.%d.%d" % (
        hello["fw_major"], hello["fw_minor"], hello["fw_patch"]) if hello else "?",
        hello.get("boot_count", "?")), health["state"], hb.get("state", "?")]
    if b.uptime is not None:
        h, rest = divmod(int(b.uptime), 3600)
        parts.append("%d:%02d:%02d" % (h, rest // 60, rest % 60))
    if health["speed"] and abs(health["speed"] - 1) > 0.05:
        parts.append("%.0fx" % health["speed"])
    link = "%.1f fr/s %s bad %s lost hb %s" % (
        health["frames_per_s"], _n(health["bad"]), _n(health["lost"]),
        "--" if health["heartbeat_age"] is None else "%.1f s ago" % health["heartbeat_age"])
    return " ".join(parts) + " | " + link


def _n(v):
    return "?" if v is None else str(v)
