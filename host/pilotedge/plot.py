"""A log as one figure: pH, ORP, temperature, doses, pressure and state of charge against
time, set points drawn, alarm limits dashed, alarms shaded from raised to cleared.

Time is process time (pilotedge.history): the wall clock for boards on a cable, the
simulated clock for a bench board. matplotlib draws with its Agg backend: no display needed.

    from pilotedge import history, plot
    with history.open_sqlite("run.sqlite") as log:
        plot.save(log, "run.png")
"""

import datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402  (after the backend is chosen)
from matplotlib.figure import Figure  # noqa: E402

from . import history  # noqa: E402
from .errors import LogError  # noqa: E402

MAX_POINTS = 4000  # per line: more than a page shows, and a 48 h batch plots in a second

# Panels: (unit kind, title, y label, [(field, line label suffix, is a set point)]).
PANELS = (
    ("vessel", "pH", "pH", (("ph", "", False), ("ph_sp", " set point", True))),
    ("vessel", "ORP", "ORP (mV)", (("orp", "", False),)),
    ("vessel", "Temperature", "temperature (degC)",
     (("temp", "", False), ("temp_sp", " set point", True))),
    ("vessel", "Doses", "dosed since boot (mL)",
     (("acid_total", " acid", False), ("base_total", " base", False))),
    ("canister", "Pressure", "pressure (bar)", (("pressure", "", False),)),
    ("canister", "State of charge", "state of charge (%)", (("soc", "", False),)),
)
# Which panel an alarm belongs on, by EVENT code; alarms not listed go on their unit's first.
_ALARM_PANEL = {"PH_LOW": "pH", "PH_HIGH": "pH", "ORP_LOW": "ORP", "ORP_HIGH": "ORP",
                "TEMP_LOW": "Temperature", "TEMP_HIGH": "Temperature", "DOSE_LIMIT": "Doses",
                "PRESSURE_HIGH": "Pressure", "LEAK": "Pressure", "TRIP": "Pressure",
                "SHELL_TEMP_HIGH": "Pressure"}
# Alarm limits drawn dashed: panel -> parameters.
_LIMITS = {"pH": ("ph_low", "ph_high"), "Temperature": ("temp_high",),
           "Pressure": ("p_mol", "p_rsl", "p_msl")}


def figure(log, board=None, start=None, end=None):
    """The Figure of a log (or of one board, between host times start and end); LogError
    when there is nothing to plot."""
    log.check_board(board)
    data = {}
    for kind in history.KIND_TABLES:
        fields = [f for k, _t, _y, lines in PANELS if k == kind for f, _s, _p in lines]
        found = [s for s in history.series(log, kind, fields, board, start, end) if s.t]
        if found:
            data[kind] = found
    panels = [p for p in PANELS if p[0] in data]
    if not panels:
        raise LogError("nothing to plot: %s has no telemetry%s" % (
            log.name, " of board %s" % board if board else ""))
    fig = Figure(figsize=(11, 2.1 * len(panels) + 0.8), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    by_title = {}
    for ax, (kind, title, ylabel, lines) in zip(axes, panels, strict=True):
        by_title[title] = ax
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        for s in data[kind]:
            who = "%s %s" % (s.board, s.unit)
            for field, suffix, setpoint in lines:
                t, v = _thin(s.t, s.values[field])
                ax.plot(t, v, label=who + suffix, linewidth=0.9 if not setpoint else 1.2,
                        linestyle="--" if setpoint else "-",
                        drawstyle="steps-post" if setpoint else "default")
    _limits(log, by_title, board)
    _alarms(log, by_title, data, board, start, end)
    for ax in axes:
        if ax.lines:
            ax.legend(loc="upper left", fontsize=7, ncols=4)
    axes[-1].set_xlabel("time (%s; the board's clock from its boot)" % history.zone())
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(
        axes[-1].xaxis.get_major_locator()))
    times = [t for series in data.values() for s in series for t in (s.t[0], s.t[-1])]
    fig.suptitle("%s%s: %s to %s" % (log.name, " board %s" % board if board else "",
                                    history.local(min(times)), history.local(max(times))),
                 fontsize=10)
    return fig


def save(log, path, board=None, start=None, end=None):
    """Write the figure as PNG to path."""
    fig = figure(log, board, start, end)
    fig.savefig(path, dpi=100)
    return fig


def _dates(ts):
    return [datetime.datetime.fromtimestamp(t) for t in ts]


def _thin(t, v):
    """Every k-th point so a line has at most MAX_POINTS (alarms are marked separately, so a
    short spike is not lost from the page)."""
    step = max(1, len(t) // MAX_POINTS)
    return _dates(t[::step]), [float("nan") if x is None else x for x in v[::step]]


def _limits(log, by_title, board):
    for title, names in _LIMITS.items():
        ax = by_title.get(title)
        if ax is None:
            continue
        for name in names:
            history_ = log.param_history(name, board)
            if history_:
                ax.axhline(history_[-1][3], color="0.4", linestyle=":", linewidth=1,
                           label="%s %s" % (name, history_[-1][3]))


def _alarms(log, by_title, data, board, start, end):
    """Shade each alarm from raised to cleared (or to the end of the log) on its panel."""
    clocks = history.Clocks(log)
    last = {s.board: s.t[-1] for series in data.values() for s in series}
    kind_panel = {kind: next(t for k, t, *_ in PANELS if k == kind) for kind in data}
    units = {(b, u): kind for b, _n, u, kind in log.units(board)}
    marked = set()
    for a in log.alarms(board, start, end):
        title = _ALARM_PANEL.get(a["code"]) or kind_panel.get(units.get((a["board"],
                                                                         a["unit"])))
        ax = by_title.get(title)
        if ax is None or a["board"] not in last:
            continue
        t0 = clocks.raised(a)
        t1 = clocks.host(a["board"], a["cleared"], a["boot"]) or last[a["board"]]
        label = "alarm: %s" % a["code"] if (title, a["code"]) not in marked else None
        marked.add((title, a["code"]))
        x0, x1 = _dates([t0, max(t1, t0)])
        ax.axvspan(x0, x1, color="tab:red", alpha=0.25, label=label)
        ax.axvline(x0, color="tab:red", linewidth=0.8)
        if a["acknowledged"]:
            first = (title, "ack") not in marked
            marked.add((title, "ack"))
            ack = clocks.host(a["board"], a["acknowledged"], a["boot"])
            ax.axvline(_dates([ack])[0], color="tab:green",
                       linestyle="--", linewidth=1, label="acknowledged" if first else None)
        if a["limit"] is not None and a["value_unit"] and (title, a["limit"]) not in marked:
            marked.add((title, a["limit"]))
            ax.axhline(a["limit"], color="tab:red", linestyle=":", linewidth=1,
                       label="%s limit %g %s" % (a["code"], a["limit"], a["value_unit"]))
