"""Vessel control: the firmware's pH and temperature loops against an on/off baseline and the
ideal reference, on one scenario (issue 14).

    .venv/bin/python tools/bench/control.py [--scenario FILE] [--hours H]

Three runs on the same plant model and scenario (default: the standard 48 h batch):
- the real firmware on the bench, its loops in AUTO as the scenario sets them;
- the same firmware with param ph_onoff = 0.1: on/off dosing with +-0.1 pH hysteresis on the
  same electrode signal, calibration, pumps, duty cap and budgets;
- the ideal reference: a CPython replay of the vessel plant (sim/vessel.py) that, every second
  from the handover on (before it, the plant runs free as in the bench runs), adds the least
  acid or base that puts the true pH exactly on the set point, with the firmware run's true
  temperature and aeration.
Each bench run begins as a technician begins a batch: a two-point pH calibration in the
bench's 4.01 and 1.68 buffers and a pump calibration of each pump into the bench's measuring
cylinder, through the firmware's CAL commands, then the pH loop goes to AUTO at 40 min of
board time in both runs alike (the calibration takes 26-29 min; how long varies with when
its commands land, and both controllers follow a start-up at the pumps' pace, so a handover
when each calibration ends would carry that difference into first in band). The base pump's
calibration run starts the lockout against acid (ph_lockout) and its own dose interval: a
run whose calibration ends too late for both to end before the handover stops with an
error, as it would start behind the other. The two bench runs go in parallel processes.
Figures come from the bench's truth trace (true pH, temperature, delivered reagent):
- in band: share of the run with the true pH within +-0.1 (+-0.05) of the set point in force;
  "after entry" counts from the first entry into the band of each set point;
- first in band: hours to the first entry;
- reagent: acid and base in equivalents, divided by the ideal reference's;
- temperature overshoot: the peak true temperature above where the loop settles (the mean
  true temperature over the run's second half);
- alarms: the most alarm raises (EVENT RAISED or LATCHED) in any 10 minutes of board time.
Last line:
    control: in_band_01_pct=N in_band_01_after_entry_pct=N in_band_005_after_entry_pct=N
    first_in_band_h=N baseline_first_in_band_h=N baseline_in_band_01_pct=N reagent_ratio=N
    baseline_reagent_ratio=N temp_overshoot_k=N max_alarms_per_10min=N
(one line). Targets: after entry >= 99 % (+-0.1) and >= 90 % (+-0.05), first in band no later
than the baseline, reagent <= 1.1x the ideal, overshoot <= 0.3 K, <= 10 raises per 10 min.
"""

import argparse
import bisect
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pilotedge import codec
from pilotedge.bench import Bench
from pilotedge.bench.scenario import load
from pilotedge.bench.trace import Trace
from pilotedge.link import Link
from pilotproto import messages as m

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "firmware"))
from sim.vessel import VesselPlant  # noqa: E402  (the plant the bench runs)

DEFAULT = REPO / "boards/sim/scenarios/vessel_batch_48h.toml"
BASELINE_BAND = 0.1
BUFFERS = (("4.01", 4010), ("1.68", 1680))  # the bench's buffer station, at 25 degC
CYLINDER_UL = 20000
RAISES = ("RAISED", "LATCHED")
WINDOW_MS = 600000
HEAP = "768k"
STATE_WAIT_S = 300.0
HANDOVER_MS = 2400000


def _calibrate(bench, link, unit, spec):
    """A two-point pH calibration and each pump's, as a technician takes them, before the
    pH loop's handover to AUTO (the bench's timeline sends it at HANDOVER_MS)."""

    def ok(ack, what):
        f = ack.fields()
        if f["result"] != "DONE":
            raise SystemExit("calibration: %s answered %s %s" % (what, f["result"], f))

    # The scenario's operator switches the loops to AUTO at its start: then the pH loop off
    # meanwhile (a dose of its own would keep a pump busy), AUTO after.
    frames = link.listen("VESSEL")
    while frames.get(timeout=60).fields()["ph_mode"] != "AUTO":
        pass
    ok(link.command(unit, "SET_MODE", m.LOOP_PH, m.MODE_OFF), "SET_MODE PH OFF")
    ok(link.command(unit, "CAL_START", m.CAL_KIND_PH), "CAL_START PH")
    for buffer, ident in BUFFERS:
        bench.to_standard(0, spec["ph"], buffer, 25.0)
        ok(link.command(unit, "CAL_POINT", ident, 2500, progress_timeout=120), "CAL_POINT")
    ok(link.command(unit, "CAL_FINISH"), "CAL_FINISH PH")
    bench.to_vessel(0, spec["ph"])
    # The pumps run once the electrode reads the vessel again (judged plausible a minute).
    steady = 0
    while steady < 60:
        f = frames.get(timeout=60).fields()
        if f["unit"] == unit:
            steady = steady + 1 if f["sensor_ok"] & 1 else 0
    for kind, output in (("ACID", spec["acid"]), ("BASE", spec.get("base"))):
        if output is None:
            continue
        bench.pump_to_cylinder(0, output)
        # The base pump waits out the lockout after the acid pump's run; an electrode the
        # vessel still judges (back from a buffer) holds the pumps a while.
        while True:
            ack = link.command(unit, "CAL_START", kind, CYLINDER_UL, progress_timeout=120)
            if ack.fields()["reason"] not in ("LIMIT", "SAFE_STATE", "NOT_READY"):
                break
            for _ in range(10):
                frames.get(timeout=60)
        ok(ack, "CAL_START " + kind)
        ml = bench.pump_to_vessel(0, output)
        ok(link.command(unit, "CAL_POINT", int(round(ml * 1000))), "CAL_POINT " + kind)
        ok(link.command(unit, "CAL_FINISH"), "CAL_FINISH " + kind)
    done_ms = bench.state(0)["now_ms"]
    held_s = max(link.param_get(unit, name).value for name in ("ph_lockout", "dose_interval"))
    if done_ms + held_s * 1000 > HANDOVER_MS:
        raise SystemExit("calibration: ended at %.0f s of board time; the pumps' lockout or "
                         "dose interval would hold the first dose past the pH loop's handover "
                         "at %.0f s" % (done_ms / 1000, HANDOVER_MS / 1000))


def bench_run(scenario_path, baseline, hours):
    """One bench run: calibrate, run the scenario; returns the vessel's truth at 1 Hz,
    the alarm raises' board times and the wall time."""
    start = time.monotonic()
    scenario = load(scenario_path)
    events = scenario.board_json["events"]
    events.append({"do": "command", "unit": 0, "verb": m.VERB_SET_MODE, "arg0": m.LOOP_PH,
                   "arg1": m.MODE_AUTO, "at_ms": HANDOVER_MS})
    events.sort(key=lambda e: e["at_ms"])
    end_ms = int((hours * 3600 if hours else scenario.duration_s) * 1000)
    spec = scenario.board["units"]["vessels"][0]
    with tempfile.TemporaryDirectory() as work:
        # The bench board's heap holds the simulated plant and chips too: twice a board's.
        with Bench(scenario, speed=0, workdir=work, fresh=True, trace=True,
                   heap=HEAP) as bench:
            board = bench.boards[0]
            unit = 0  # the first vessel
            raises = []
            with Link(board.protocol_port) as link:
                link.hello(timeout=2.0, retries=5)
                link.subscribe(lambda f: raises.append(f.fields()["uptime"])
                               if f.fields()["kind"] in RAISES else None, "EVENT")
                if baseline:
                    link.param_set(unit, "ph_onoff", BASELINE_BAND)
                _calibrate(bench, link, unit, spec)
                # A busy host may keep the board from answering for a while: wait long.
                while board.request("state", timeout=STATE_WAIT_S)["state"]["now_ms"] < end_ms:
                    time.sleep(0.5)
            trace = Trace.read(board.trace_path, plants=(spec["name"],), samples=False)
    v = trace.plant(spec["name"])
    n = bisect.bisect_right(v["t_ms"], end_ms)
    keys = ("t_ms", "ph", "temp_c", "acid_added_ml", "base_added_ml", "aeration")
    truth = {k: v[k][:n] for k in keys}
    return truth, sorted(raises), time.monotonic() - start


def _ideal_dose(plant, sp):
    # The least acid or base that puts the true pH on sp now, straight into the bulk:
    # the charge balance D = V (h - Kw/h) + S h / (h + K2) solved for the reagent's volume.
    h = 10.0**-sp
    g = h - plant.kw_m2 / h
    f = h / (h + plant.k2_m)
    short = plant.volume_l * g + plant.sulfate_mol * f - plant.acid_eq_mol
    if short > 0:
        c = plant.acid_m
        x = short / (2 * c - g - c * f)
        plant.acid_eq_mol += 2 * c * x
        plant.sulfate_mol += c * x
        plant.acid_added_ml += 1000 * x
    else:
        x = -short / (plant.base_m + g)
        plant.acid_eq_mol -= plant.base_m * x
        plant.base_added_ml += 1000 * x
    plant.volume_l += x
    plant.h_m = h


def ideal_run(scenario, truth, sp_at, from_ms):
    """The ideal reference's reagent (eq) along the firmware run's temperature, dosed from
    from_ms on (the handover: a controller that acts earlier has a head start no run has)."""
    plant = VesselPlant(dict(scenario.board_json["plant"].get("v0", {}), max_step_s=1.0))
    sets = [e for e in scenario.board_json["events"] if e["do"] == "set" and e["target"] == "v0"]
    t_ms = truth["t_ms"]
    for i in range(len(t_ms)):
        while sets and sets[0]["at_ms"] <= t_ms[i]:
            for key, value in sets.pop(0)["values"].items():
                setattr(plant, key, value)
        if t_ms[i] >= from_ms:
            _ideal_dose(plant, sp_at(t_ms[i]))
        plant.temp_c = truth["temp_c"][i]
        plant.aeration = bool(truth["aeration"][i])
        dt_s = (t_ms[i + 1] - t_ms[i]) / 1000 if i + 1 < len(t_ms) else 0
        if dt_s > 0:
            plant.step(dt_s)
    return (plant.acid_added_ml * 2 * plant.acid_m + plant.base_added_ml * plant.base_m) / 1000


def setpoints(scenario):
    """sp_at(t_ms): the pH set point in force, from the scenario's params and param events."""
    spec = codec.param("ph_sp")
    sp = spec[6] * spec[3]  # the spec's default
    for _unit, name, value in scenario.params:
        if name == "ph_sp":
            sp = value
    changes = [(0, sp)]
    for e in scenario.board_json["events"]:
        if e["do"] == "param" and e["name"] == "ph_sp":
            changes.append((e["at_ms"], e["value"]))
    times = [c[0] for c in changes]

    def sp_at(t_ms):
        return changes[bisect.bisect_right(times, t_ms) - 1][1]

    return sp_at, times


def figures(truth, raises, sp_at, changes, plant):
    t = truth["t_ms"]
    ph = truth["ph"]
    n = len(t)
    inside01 = inside005 = 0
    after = after01 = after005 = 0
    first_h = None
    entered = False
    seg = 0
    for i in range(n):
        while seg + 1 < len(changes) and t[i] >= changes[seg + 1]:
            seg += 1
            entered = False  # a new set point: "after entry" restarts at its band
        e = abs(ph[i] - sp_at(t[i]))
        inside01 += e <= 0.1
        inside005 += e <= 0.05
        if e <= 0.1 and not entered:
            entered = True
            if first_h is None:
                first_h = t[i] / 3.6e6
        if entered:
            after += 1
            after01 += e <= 0.1
            after005 += e <= 0.05
    eq = (truth["acid_added_ml"][-1] * 2 * plant.acid_m
          + truth["base_added_ml"][-1] * plant.base_m) / 1000
    temp = truth["temp_c"]
    settle = sum(temp[n // 2:]) / max(1, n - n // 2)
    most = 0
    j = 0
    for i, r in enumerate(raises):
        while raises[j] <= r - WINDOW_MS / 1000:
            j += 1
        most = max(most, i - j + 1)
    return {
        "in_band_01_pct": 100 * inside01 / n,
        "in_band_005_pct": 100 * inside005 / n,
        "after_01_pct": 100 * after01 / max(after, 1),
        "after_005_pct": 100 * after005 / max(after, 1),
        "first_in_band_h": first_h if first_h is not None else float("nan"),
        "eq": eq,
        "overshoot_k": max(temp) - settle,
        "alarms_10min": most,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(DEFAULT))
    parser.add_argument("--hours", type=float, default=None,
                        help="simulated hours (default: the scenario's duration)")
    args = parser.parse_args()
    scenario = load(args.scenario)
    if not (args.hours or scenario.duration_s):
        raise SystemExit("the scenario has no duration_s: give --hours")
    start = time.monotonic()
    with ProcessPoolExecutor(2) as pool:
        runs = [pool.submit(bench_run, args.scenario, baseline, args.hours)
                for baseline in (False, True)]
        (fw, fw_raises, fw_wall), (base, base_raises, base_wall) = [r.result() for r in runs]
    sp_at, changes = setpoints(scenario)
    plant = VesselPlant(scenario.board_json["plant"].get("v0", {}))
    ideal_eq = ideal_run(scenario, fw, sp_at, HANDOVER_MS)
    f = figures(fw, fw_raises, sp_at, changes, plant)
    b = figures(base, base_raises, sp_at, changes, plant)
    print("scenario %s, %.1f h simulated; ideal reference: %.3f eq"
          % (scenario.name, fw["t_ms"][-1] / 3.6e6, ideal_eq))
    for name, r, wall in (("firmware", f, fw_wall), ("on/off +-0.1", b, base_wall)):
        print("%-13s in band +-0.1 %.1f %% (after entry %.2f %%), +-0.05 %.1f %% (after entry "
              "%.2f %%), first in band %.2f h, reagent %.3f eq = %.3fx ideal, temperature "
              "overshoot %.2f K, most alarm raises in 10 min %d, wall %.0f s"
              % (name, r["in_band_01_pct"], r["after_01_pct"], r["in_band_005_pct"],
                 r["after_005_pct"], r["first_in_band_h"], r["eq"], r["eq"] / ideal_eq,
                 r["overshoot_k"], r["alarms_10min"], wall))
    print("wall time of the whole benchmark: %.0f s" % (time.monotonic() - start))
    print("control: in_band_01_pct=%.1f in_band_01_after_entry_pct=%.2f "
          "in_band_005_after_entry_pct=%.2f first_in_band_h=%.2f baseline_first_in_band_h=%.2f "
          "baseline_in_band_01_pct=%.1f reagent_ratio=%.3f baseline_reagent_ratio=%.3f "
          "temp_overshoot_k=%.2f max_alarms_per_10min=%d"
          % (f["in_band_01_pct"], f["after_01_pct"], f["after_005_pct"], f["first_in_band_h"],
             b["first_in_band_h"], b["in_band_01_pct"], f["eq"] / ideal_eq, b["eq"] / ideal_eq,
             f["overshoot_k"], f["alarms_10min"]))


if __name__ == "__main__":
    main()
