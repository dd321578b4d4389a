"""A batch report from a log: what a technician hands on at the end of a batch.

Per vessel: time in band of pH and temperature around their set points, ORP, reagent used,
heater energy; per canister: pressure, state of charge, states; every alarm with how long
it lasted and when it was acknowledged; the calibrations in force; every command with who
gave it; link gaps. As text, Markdown (with the plot beside it) or HTML (the plot inside).
Durations are in process time (pilotedge.history): a bench batch at 60x reports its
simulated hours.

    from pilotedge import history, report
    with history.open_sqlite("run.sqlite") as log:
        print(report.render(report.build(log), "text"))
"""

import base64
import html
import io
import json
import statistics

from . import history
from .errors import UsageError

PH_BAND = 0.1  # pH either side of the set point that counts as in band (the pH deadband)
TEMP_BAND = 0.5  # degC either side of the temperature set point
_VESSEL = ("ph", "ph_sp", "temp", "temp_sp", "orp", "heater", "acid_total", "base_total")
_CANISTER = ("pressure", "shell_temp", "soc", "soc_valid", "state")
_GAP_FACTOR = 10  # a step longer than this many typical steps is a gap: not counted


class Section:
    """A titled part of a report: lines of text, then a table (headers, rows) if any."""

    def __init__(self, title, lines=(), headers=None, rows=()):
        self.title = title
        self.lines = list(lines)
        self.headers = headers
        self.rows = [list(map(str, r)) for r in rows]


class Report:
    def __init__(self, title, sections, figure=None):
        self.title = title
        self.sections = sections
        self.figure = figure  # a matplotlib Figure, or None


def pick_batch(log, number=None, board=None):
    """The batch to report: batch `number`, else the latest one (of the board), else None
    (the whole log); UsageError for a batch the log does not have."""
    batches = log.batches(board)
    if number is None:
        return batches[-1] if batches else None
    for b in batches:
        if b["id"] == number:
            return b
    raise UsageError("the log %s has no batch %d (batches: %s)" % (
        log.name, number, ", ".join(str(b["id"]) for b in batches) or "none recorded"))


def build(log, batch=None, with_figure=False, board=None):
    """The Report of a batch (a dict from pick_batch) or, for None, of the whole log (of
    one board)."""
    board = batch["board"] if batch else board
    start = batch["started"] if batch else None
    end = batch["ended"] if batch else None
    vessels = history.series(log, "vessel", _VESSEL, board, start, end)
    canisters = history.series(log, "canister", _CANISTER, board, start, end)
    if batch:
        vessels = [s for s in vessels if s.unit == batch["unit"]]
    times = [t for s in vessels + canisters if s.t for t in (s.t[0], s.t[-1])]
    clocks = history.Clocks(log)
    head = [
        "log: %s" % log.name,
        "boards: %s" % (", ".join("%s (%s)" % (name, bid) for _i, name, bid in log.boards())
                        or "none"),
    ]
    if batch:
        def at(t):
            return history.local(clocks.host(batch["board"], t))

        head.append("batch %d of %s %s: started %s by %s, %s" % (
            batch["id"], batch["board"], batch["unit"], at(batch["started"]),
            batch["operator"] or "?", "stopped %s by %s" % (at(batch["ended"]),
                                                           batch["stopped_by"] or "?")
            if batch["ended"] else "still running at the end of the log"))
    else:
        head.append("the whole log (no batch chosen; batches recorded: %s)" % (
            ", ".join(str(b["id"]) for b in log.batches()) or "none"))
    if times:
        head.append("from %s to %s, %s (times %s, in the boards' own clocks)" % (
            history.local(min(times)), history.local(max(times)),
            duration(max(times) - min(times)), history.zone()))
    sections = [Section("Summary", head)]
    sections += [_vessel(log, s) for s in vessels]
    sections += [_canister(s) for s in canisters]
    sections.append(_alarms(log, clocks, board, start, end))
    sections.append(_calibrations(log, board, end))
    sections.append(_commands(log, clocks, board, start, end))
    sections.append(_gaps(log, clocks, board, start, end))
    figure = None
    if with_figure and times:
        from . import plot  # matplotlib only when a picture is wanted

        figure = plot.figure(log, board, start, end)
    title = "pilotedge batch report" + (" %d" % batch["id"] if batch else "")
    return Report(title, sections, figure)


# -- computations ---------------------------------------------------------------------------

def steps(t):
    """The time each sample stands for (to the next one), 0 across a gap in the log."""
    if len(t) < 2:
        return [0.0] * len(t)
    dts = [b - a for a, b in zip(t, t[1:], strict=False)]
    cap = _GAP_FACTOR * statistics.median(dts)
    dts = [d if 0 < d <= cap else 0.0 for d in dts]
    return dts + [0.0]


def in_band(dts, values, setpoints, band):
    """(seconds within band of the set point, seconds with a valid reading)."""
    inside = valid = 0.0
    for dt, v, sp in zip(dts, values, setpoints, strict=True):
        if v is None or sp is None:
            continue
        valid += dt
        if abs(v - sp) <= band:
            inside += dt
    return inside, valid


def used(totals):
    """What a since-boot counter added up over the samples (a drop is a reboot: counted
    from zero again)."""
    out = 0.0
    last = None
    for v in totals:
        if v is None:
            continue
        if last is not None:
            out += v - last if v >= last else v
        last = v
    return out


def duration(seconds):
    """'2 h 05 min', '4 min 10 s', '12 s'."""
    s = int(round(seconds))
    if s >= 3600:
        return "%d h %02d min" % (s // 3600, s % 3600 // 60)
    if s >= 60:
        return "%d min %02d s" % (s // 60, s % 60)
    return "%d s" % s


def _stats(values, fmt):
    vals = [v for v in values if v is not None]
    if not vals:
        return "no valid reading"
    return "min %s, mean %s, max %s" % (fmt % min(vals), fmt % statistics.fmean(vals),
                                        fmt % max(vals))


def _percent(part, whole):
    return "%.1f %%" % (100.0 * part / whole) if whole else "n/a"


def _heater_w(log, board, unit):
    spec = log.board_file(board) or {}
    for entry in spec.get("units", {}).get("vessels", []):
        if entry.get("name") == unit and "heater_w" in entry:
            return float(entry["heater_w"])
    return None


def _vessel(log, s):
    v = s.values
    dts = steps(s.t)
    ph_in, ph_valid = in_band(dts, v["ph"], v["ph_sp"], PH_BAND)
    t_in, t_valid = in_band(dts, v["temp"], v["temp_sp"], TEMP_BAND)
    watts = _heater_w(log, s.board, s.unit)
    duty_s = sum(dt * (h or 0) / 100.0 for dt, h in zip(dts, v["heater"], strict=True))
    energy = ("%.3f kWh (%.0f W element, %s at full power)" % (
        watts * duty_s / 3.6e6, watts, duration(duty_s)) if watts is not None
        else "n/a (no heater_w in the board file; %s at full power)" % duration(duty_s))
    sp_ph = sorted({x for x in v["ph_sp"] if x is not None})
    sp_t = sorted({x for x in v["temp_sp"] if x is not None})
    rows = [
        ("pH", _stats(v["ph"], "%.3f"), "sp %s +-%.1f: %s of %s" % (
            "/".join("%.3f" % x for x in sp_ph) or "?", PH_BAND,
            _percent(ph_in, ph_valid), duration(ph_valid))),
        ("temperature", _stats(v["temp"], "%.2f degC"),
         "sp %s +-%.1f degC: %s of %s" % (
             "/".join("%.2f" % x for x in sp_t) or "?", TEMP_BAND,
             _percent(t_in, t_valid), duration(t_valid))),
        ("ORP", _stats(v["orp"], "%.0f mV"), ""),
        ("acid used", "%.3f mL" % used(v["acid_total"]), "pump counter"),
        ("base used", "%.3f mL" % used(v["base_total"]), "pump counter"),
        ("heater energy", energy, "duty x element power"),
    ]
    return Section("Vessel %s %s" % (s.board, s.unit),
                   ["%s of readings; time in band: within the band of the set point, of the "
                    "time with a valid reading" % duration(sum(dts))],
                   ("quantity", "value", "note"), rows)


def _canister(s):
    v = s.values
    dts = steps(s.t)
    socs = [(x, ok) for x, ok in zip(v["soc"], v["soc_valid"], strict=True) if x is not None]
    state_s = {}
    for dt, state in zip(dts, v["state"], strict=True):
        state_s[state] = state_s.get(state, 0.0) + dt
    rows = [
        ("pressure", _stats(v["pressure"], "%.3f bar"), ""),
        ("shell temperature", _stats(v["shell_temp"], "%.2f degC"), ""),
        ("state of charge", "%.1f %% to %.1f %%" % (socs[0][0], socs[-1][0]) if socs
         else "never valid", "validity %s" % "/".join(sorted({ok for _x, ok in socs}))
         if socs else ""),
        ("states", ", ".join("%s %s" % (k, duration(d)) for k, d in state_s.items()), ""),
    ]
    return Section("Canister %s %s" % (s.board, s.unit), [], ("quantity", "value", "note"),
                   rows)


def _alarms(log, clocks, board, start, end):
    alarms = log.alarms(board, start, end)
    rows = []
    for a in alarms:
        raised = clocks.raised(a)
        if a["cleared"] is not None:
            lasted = duration(clocks.host(a["board"], a["cleared"], a["boot"]) - raised)
            if a["end_reason"] == "reboot":
                lasted += " (ended by a reboot)"
        else:
            lasted = "still raised"
        acked = (duration(clocks.host(a["board"], a["acknowledged"], a["boot"]) - raised)
                 if a["acknowledged"] else "no")
        value = ("%g, limit %g %s" % (a["value"], a["limit"], a["value_unit"])
                 if a["value_unit"] else "")
        rows.append((history.local(raised), "%s %s" % (a["board"], a["unit"]), a["code"],
                     a["severity"], lasted, acked, value))
    lines = [] if alarms else ["none"]
    return Section("Alarms (%d)" % len(alarms), lines,
                   ("raised", "unit", "alarm", "severity", "lasted", "acknowledged after",
                    "value") if rows else None, rows)


def _calibrations(log, board, end):
    cals = log.calibrations(board, end)
    latest = {}
    for c in cals:  # newest first: the first of each sensor is the one in force
        latest.setdefault((c["board"], c["unit"], c["sensor"]), c)
    rows = [(c["board"], c["unit"], c["sensor"], c["method"], history.local(c["host_time"]),
             c["health"] or "", history.local(c["expires"]) or "no expiry",
             c["operator"] or "")
            for c in latest.values()]
    return Section("Calibrations in force", [] if rows else ["none recorded"],
                   ("board", "unit", "sensor", "method", "made", "health", "expires",
                    "operator") if rows else None, rows)


def _commands(log, clocks, board, start, end):
    rows = []
    for t, operator, origin, b, unit, command, arguments, result, reason in log.audit(
            board, start, end):
        args = json.loads(arguments) if arguments else {}
        rows.append((history.local(clocks.host(b, t)), operator, origin, "%s %s" % (b, unit or ""),
                     " ".join([command, *map(str, args.values())]),
                     result + (": " + reason if reason else "")))
    return Section("Commands (%d)" % len(rows), [] if rows else ["none"],
                   ("when", "operator", "from", "unit", "command", "result") if rows else None,
                   rows)


def _gaps(log, clocks, board, start, end):
    gaps = log.gaps(board, start, end)
    lost = sum(g[5] or 0 for g in gaps if g[2] == "sequence")
    out = [g for g in gaps if g[2] != "sequence"]
    lines = ["%d frames lost in %d sequence gaps; %d outages%s" % (
        lost, len(gaps) - len(out), len(out), ":" if out else "")]
    lines += ["%s %s from %s to %s" % (g[2], g[0] or g[1], history.local(clocks.host(g[0], g[3])),
                                       history.local(clocks.host(g[0], g[4])) or "the end")
              for g in out]
    return Section("Link", lines)


# -- rendering --------------------------------------------------------------------------------

def render(rep, fmt, image=None):
    """The report as text, markdown or html. image: the plot's file name for Markdown
    (written beside it); HTML carries the plot inside."""
    if fmt == "text":
        return _text(rep)
    if fmt == "markdown":
        return _markdown(rep, image)
    if fmt == "html":
        return _html(rep)
    raise UsageError("unknown report format %r (text, markdown, html)" % fmt)


def _text(rep):
    out = [rep.title, "=" * len(rep.title)]
    for sec in rep.sections:
        out += ["", sec.title, "-" * len(sec.title)] + sec.lines
        if sec.headers:
            widths = [max(len(x) for x in col) for col in zip(sec.headers, *sec.rows,
                                                               strict=True)]
            for row in [sec.headers, *sec.rows]:
                out.append("  ".join(c.ljust(w) for c, w in zip(row, widths,
                                                                strict=True)).rstrip())
    return "\n".join(out) + "\n"


def _md_cell(text):
    return text.replace("|", "\\|")


def _markdown(rep, image):
    out = ["# %s" % rep.title]
    if image:
        out += ["", "![pH, ORP, temperature, doses, pressure and state of charge](%s)" % image]
    for sec in rep.sections:
        out += ["", "## %s" % sec.title, ""]
        out += ["- %s" % line for line in sec.lines]
        if sec.headers:
            out += ["", "| %s |" % " | ".join(sec.headers),
                    "|%s|" % "|".join("---" for _h in sec.headers)]
            out += ["| %s |" % " | ".join(map(_md_cell, r)) for r in sec.rows]
    return "\n".join(out) + "\n"


def _html(rep):
    e = html.escape
    out = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\"><title>%s</title>"
           % e(rep.title),
           "<style>body{font-family:sans-serif;max-width:70em;margin:auto}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
           "text-align:left}img{max-width:100%}</style></head><body>",
           "<h1>%s</h1>" % e(rep.title)]
    if rep.figure is not None:
        buf = io.BytesIO()
        rep.figure.savefig(buf, format="png", dpi=100)
        out.append("<img alt=\"plot\" src=\"data:image/png;base64,%s\">"
                   % base64.b64encode(buf.getvalue()).decode())
    for sec in rep.sections:
        out.append("<h2>%s</h2>" % e(sec.title))
        if sec.lines:
            out.append("<ul>%s</ul>" % "".join("<li>%s</li>" % e(x) for x in sec.lines))
        if sec.headers:
            out.append("<table><tr>%s</tr>%s</table>" % (
                "".join("<th>%s</th>" % e(h) for h in sec.headers),
                "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % e(c) for c in r)
                        for r in sec.rows)))
    out.append("</body></html>")
    return "\n".join(out) + "\n"
