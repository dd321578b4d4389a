"""Canister monitor against the truth: trips, temperature lag, leaks, state of charge, a week.

    .venv/bin/python tools/bench/canister.py [--days 7]

The real firmware on bench boards, flat out, judged by each board's truth trace
(pilotedge.bench.trace) and the frames a host receives (read raw from the protocol port:
the scenarios' operator_link answers the board's heartbeats, so no host runs beside it).

- Pressure trip (boards/sim/scenarios/canister_trips.toml, 10 ms plant steps): a nearly
  full canister charging at 15 bar, then its regulator fails high (32 bar) and its inlet
  valve sticks open. Latency: the worse of the true RSL crossing (22 bar) to the inlet pin
  at its safe level and the true MSL crossing (28 bar) to the TRIP event's stamp, ms.
- Temperature trip (same scenario): a fire next to an isolated canister (room at 100 and
  at 200 degC, the shell warming about 0.1 and 0.2 K/s) behind a shell sensor lagging 20 s.
  Lag: the TRIP event after the true shell temperature crossed t_msl, s (the worse case).
- Leak (canister_leak.toml): an isolated canister at 50 %, the room +-3 K a day; after an
  hour of rest a leak of 2 % of the capacity per hour at the canister's pressure, started
  where the room warms fastest and, in a second run, where it cools fastest. Figures: the
  true leak rate (% of capacity per hour, from the plant's leaked gas), the time to the
  LEAK event (min, the worse run; 0 = not found within 3 h).
- Week (canister_week.toml, --days of it): the state of charge's RMS error over every
  CANISTER frame (invalid ones count) against the true one, false alarms (any alarm, trip or
  leak EVENT: nothing is injected) per week, and the charges that ended at >= 90 % true
  state of charge. The full week takes about 100 min of wall time at the ~100x one board
  reaches here (half that on an idle machine); --days shortens it for iteration.

Last line:
    canister: trip_latency_ms=N temp_trip_lag_s=N leak_pct_per_h=N leak_detect_min=N
              soc_rmse_pct=N false_alarms_per_week=N charges_completed=N
"""

import argparse
import math
import tempfile
import threading
import time
from pathlib import Path

import serial

from pilotedge.bench import Bench
from pilotedge.bench.scenario import load
from pilotedge.codec import StreamDecoder
from pilotproto import messages as m

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "boards/sim/scenarios"
CAPACITY_NL = 100.0  # sim/canister.py DEFAULTS, as the board file's capacity
LEAK_PCT_PER_H = 2.0
# Any of these RAISED or LATCHED with nothing injected is a false alarm.
ALARMS = ("PRESSURE_HIGH", "SHELL_TEMP_HIGH", "LEAK", "TRIP", "SENSOR_SUSPECT",
          "TRIP_PREDICTED", "SENSOR_FAULT")
_WAIT_S = 1800.0  # wall seconds any one wait may take, and a run to a time ...
_SLOWEST = 20.0  # ... this many times faster than real time on top (a week: 8.4 h at most)


class Watch:
    """A bench board's frames as a host receives them: EVENTs (fields, with their own
    uptime stamp) and the state of charge of each CANISTER frame, stamped with the last
    HEARTBEAT's uptime (1 s resolution: the state of charge moves far slower). sim_ms()
    turns a board uptime into the truth trace's time."""

    def __init__(self, bench):
        self.boot_ms = 0.0
        self.uptime = None
        self.events = []
        self.soc = []  # (uptime s, reported soc %)
        self._bench = bench
        self._port = serial.serial_for_url(bench.boards[0].protocol_port, timeout=0.05)
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def on_event(self, board, event):
        if event["event"] == "boot":
            self.boot_ms = event["now_ms"]

    def close(self):
        self._stop = True
        self._thread.join()
        self._port.close()

    def _run(self):
        decoder = StreamDecoder()
        while not self._stop:
            for frame in decoder.feed(self._port.read(4096)):
                if frame.msg_id == m.MSG_HEARTBEAT:
                    self.uptime = frame.fields()["uptime"]
                elif frame.msg_id == m.MSG_CANISTER and self.uptime is not None:
                    self.soc.append((self.uptime, frame.fields()["soc"]))
                elif frame.msg_id == m.MSG_EVENT:
                    self.events.append(frame.fields())

    def sim_ms(self, uptime_s):
        return self.boot_ms + uptime_s * 1000.0

    def wait_event(self, code, after=0, timeout=_WAIT_S):
        """The first EVENT of that code from the after-th on; None after timeout (wall s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events[after:]:
                if e["code"] == code:
                    return e
            time.sleep(0.05)
        return None


def _case(scenario, work, drive, trace=True):
    """drive(bench, watch) on a fresh bench board of that scenario, then 5 simulated s more;
    (what drive returned, the truth trace, the Watch)."""
    holder = {}
    bench = Bench(SCENARIOS / scenario, speed=0, workdir=work, fresh=True, trace=trace,
                  on_event=lambda b, e: holder["watch"].on_event(b, e)
                  if "watch" in holder else None)
    bench.start()
    watch = holder["watch"] = Watch(bench)
    try:
        result = drive(bench, watch)
        _until(bench, _now_s(bench) + 5)
        return result, bench.trace(0), watch
    finally:
        watch.close()
        bench.stop()


def _until(bench, sim_s):
    deadline = time.monotonic() + _WAIT_S + (sim_s - _now_s(bench)) / _SLOWEST
    while bench.state(0)["now_ms"] < sim_s * 1000.0:
        if time.monotonic() > deadline:
            raise SystemExit("canister.py: the bench did not reach %.0f s" % sim_s)
        time.sleep(0.1)


def _now_s(bench):
    return bench.state(0)["now_ms"] / 1000.0


def crossing(t_ms, values, level, after_ms=0.0):
    """When values first rise through level after after_ms (ms, interpolated), or None."""
    for i in range(1, len(t_ms)):
        if t_ms[i] > after_ms and values[i - 1] < level <= values[i]:
            return t_ms[i - 1] + (t_ms[i] - t_ms[i - 1]) * (level - values[i - 1]) / (
                values[i] - values[i - 1])
    return None


def safe_at(edges, off_level, after_ms):
    """When the pin went to off_level for good at or after after_ms (after_ms if it was)."""
    last = None
    level_then = None
    for when, level in edges:
        if when <= after_ms:
            level_then = level
        elif level == off_level:
            last = when if last is None else last
        else:
            last = None
    if last is None and level_then == off_level:
        return after_ms
    return last


def pressure_trip(work):
    def drive(bench, watch):
        bench.inject(0, "set", target="c0", values={"soc": 0.98})
        _until(bench, 30)
        bench.inject(0, "command", unit="c0", verb="VALVE", arg0=1)
        _until(bench, 60)
        seen = len(watch.events)
        bench.inject(0, "regulator_failure", target="c0")
        bench.inject(0, "valve_stuck_open", target=inlet)
        return watch.wait_event("TRIP", seen)

    board = load(SCENARIOS / "canister_trips.toml").board
    inlet = board["units"]["canisters"][0]["inlet"]
    off = 0 if board["outputs"][inlet]["active_high"] else 1
    trip, trace, watch = _case("canister_trips.toml", work, drive)
    plant = trace.plant("c0")
    rsl = crossing(plant["t_ms"], plant["pressure_bar"], 22.0)
    msl = crossing(plant["t_ms"], plant["pressure_bar"], 28.0)
    if trip is None or rsl is None or msl is None:
        raise SystemExit("canister.py: the pressure case did not trip (%s)" % trip)
    closed = safe_at(trace.edges(inlet), off, rsl)
    event = watch.sim_ms(trip["uptime"])
    print("pressure: RSL 22 bar crossed at %.0f ms, inlet pin safe %+.0f ms; MSL 28 bar at "
          "%.0f ms, TRIP %+.0f ms; peak %.1f bar (relief valve 35)"
          % (rsl, closed - rsl, msl, event - msl, max(plant["pressure_bar"])))
    return max(closed - rsl, event - msl)


def temperature_trip(work, room_c):
    def drive(bench, watch):
        _until(bench, 60)
        seen = len(watch.events)
        bench.inject(0, "set", target="ambient", values={"mean_c": room_c, "swing_k": 0.0})
        return watch.wait_event("TRIP", seen)

    trip, trace, watch = _case("canister_trips.toml", work, drive)
    plant = trace.plant("c0")
    if trip is None or trip["limit"] != 65.0:
        raise SystemExit("canister.py: the fire at %g degC tripped %s" % (room_c, trip))
    true_ms = crossing(plant["t_ms"], plant["shell_c"], 65.0)
    lag_s = (watch.sim_ms(trip["uptime"]) - true_ms) / 1000.0
    i = plant["t_ms"].index(min(plant["t_ms"], key=lambda t: abs(t - true_ms)))
    rate = (plant["shell_c"][i] - plant["shell_c"][max(0, i - 100)]) / (
        (plant["t_ms"][i] - plant["t_ms"][max(0, i - 100)]) / 1000.0)
    print("fire at %g degC: shell %.2f K/s through 65 degC, TRIP %+.1f s after the true "
          "crossing" % (room_c, rate, lag_s))
    return lag_s


def leak(work, warming):
    def drive(bench, watch):
        if not warming:  # the coldest moment 12 h after the warmest: cooling fastest at 1 h
            bench.inject(0, "set", target="ambient", values={"peak_s": 25200.0 - 43200.0})
        _until(bench, 3600)
        state = bench.state(0)["plants"]["c0"]
        ref = 10.0  # the plant's leak_ref_bar: its leak scales with P - 1 atm
        nml = LEAK_PCT_PER_H / 100 * CAPACITY_NL * 1000 / 60 * (ref - 1.01325) / (
            state["pressure_bar"] - 1.01325)
        start_s = _now_s(bench)
        seen = len(watch.events)
        bench.inject(0, "leak", target="c0", nml_per_min=nml)
        found = None
        while found is None and _now_s(bench) < start_s + 3 * 3600:
            found = watch.wait_event("LEAK", seen, timeout=1.0)
        return found, start_s, state["pressure_bar"]

    (found, start_s, bar), trace, watch = _case("canister_leak.toml", work, drive, trace=1000)
    plant = trace.plant("c0")
    if found is None:
        print("leak (room %s): not found within 3 h" % ("warming" if warming else "cooling"))
        return None, 0.0
    found_ms = watch.sim_ms(found["uptime"])
    t, leaked = plant["t_ms"], plant["leaked_nl"]
    i0 = next(i for i, v in enumerate(t) if v >= start_s * 1000)
    i1 = max(i for i, v in enumerate(t) if v <= found_ms)
    pct = (leaked[i1] - leaked[i0]) / CAPACITY_NL * 100 / ((t[i1] - t[i0]) / 3.6e6)
    minutes = (found_ms - start_s * 1000) / 60000.0
    print("leak (room %s): true %.2f %%/h at %.1f bar found after %.1f min (its estimate "
          "%.2f %%/h)" % ("warming" if warming else "cooling", pct, bar,
                          minutes, found["value"]))
    return minutes, pct


def week(work, days):
    t0 = time.monotonic()
    _, trace, watch = _case("canister_week.toml", work,
                            lambda bench, watch: _until(bench, days * 86400), trace=1000)
    wall = time.monotonic() - t0
    plant = trace.plant("c0")
    t, soc = plant["t_ms"], plant["soc"]
    errors = []
    j = 0
    for uptime, reported in watch.soc:
        at = watch.sim_ms(uptime)
        while j + 1 < len(t) and t[j + 1] <= at:
            j += 1
        errors.append(reported - soc[j] * 100.0)
    rmse = math.sqrt(sum(e * e for e in errors) / len(errors))
    alarms = [e for e in watch.events
              if e["code"] in ALARMS and e["kind"] in ("RAISED", "LATCHED")]
    for e in alarms:
        print("  false alarm: %s %s at %.0f s (value %g)" % (e["code"], e["kind"],
                                                           e["uptime"], e["value"]))
    charges = []
    for day in range(days):
        end_ms = (day * 86400 + 50400) * 1000.0  # the scenario's VALVE 0 of that day
        k = max(i for i, v in enumerate(t) if v <= end_ms)
        charges.append(soc[k])
    print("week: %d days in %.0f s wall (%.0fx); %d frames, SOC RMS error %.2f %%; charges "
          "ended at %s %% true SOC; max shell %.1f degC" % (
              days, wall, days * 86400 / wall, len(errors), rmse,
              " ".join("%.1f" % (c * 100) for c in charges), max(plant["shell_c"])))
    return rmse, len(alarms) * 7.0 / days, sum(1 for c in charges if c >= 0.9)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7, help="days of the week scenario")
    args = parser.parse_args()
    if not 1 <= args.days <= 7:
        parser.error("--days must be 1 to 7")
    with tempfile.TemporaryDirectory() as work:
        latency = pressure_trip(Path(work) / "pressure")
        lag = max(temperature_trip(Path(work) / ("fire%d" % c), c) for c in (100.0, 200.0))
        leaks = [leak(Path(work) / ("leak%d" % w), w) for w in (True, False)]
        rmse, false_alarms, charges = week(Path(work) / "week", args.days)
    found = [minutes for minutes, _ in leaks if minutes is not None]
    print("canister: trip_latency_ms=%d temp_trip_lag_s=%.1f leak_pct_per_h=%.1f "
          "leak_detect_min=%.0f soc_rmse_pct=%.1f false_alarms_per_week=%.0f "
          "charges_completed=%d" % (
              round(latency), lag, min(pct for _, pct in leaks) if found else 0.0,
              max(found) if len(found) == len(leaks) else 0, rmse, false_alarms, charges))


main()
