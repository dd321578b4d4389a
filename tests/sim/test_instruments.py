"""The bench as a measuring instrument, with the real firmware: the truth trace, the
calibration standards and boards that boot what is on their flash (the time presets are
tested where they serve: tests/hil/test_time.py).

Waits have generous wall-clock limits only to end a hung test; nothing asserts how long
anything took.
"""

import math
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest

from pilotedge.bench import Bench
from pilotedge.bench.trace import Trace
from pilotedge.link import Link
from pilotproto import messages as m

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
MPREMOTE = Path(sys.executable).parent / "mpremote"
_WAIT_S = 60.0
PUMP_ML_PER_MIN = 5.0  # boards/sim/board.json
ADC_LSB_MV = 512 / 32768  # v0_ph on the +-512 mV range


def wait_until(bench, which, test, what):
    """Poll the board's truth state until test(state) holds."""
    deadline = time.monotonic() + _WAIT_S
    while True:
        state = bench.state(which)
        if test(state):
            return state
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.02)


def sim_s(bench, seconds):
    """Let `seconds` of simulated time pass on board 0; returns the state then."""
    end_ms = bench.state(0)["now_ms"] + seconds * 1000
    return wait_until(bench, 0, lambda s: s["now_ms"] >= end_ms, "%g simulated s" % seconds)


def drain(frames):
    """Every frame a Link.listen() queue holds now, as field dicts."""
    out = []
    while not frames.empty():
        out.append(frames.get().fields())
    return out


def manual_dose(link, ul):
    """pH loop to MANUAL, then a host DOSE of ul microlitres of acid once the board can take
    it (its sensors valid, our heartbeats seen); returns the DOSE's final ACK (the board
    reports IN_PROGRESS while it doses, DONE with the volume once the dose is in)."""
    frames = link.listen("VESSEL", "HEARTBEAT")
    seen = set()
    deadline = time.monotonic() + _WAIT_S
    while seen != {"VESSEL", "HEARTBEAT"}:
        assert time.monotonic() < deadline, "the board never got ready for a dose"
        frame = frames.get(timeout=_WAIT_S)
        if frame.name == "HEARTBEAT" or frame.fields()["sensor_ok"] & 3 == 3:
            seen.add(frame.name)
    assert link.command(0, "SET_MODE", m.LOOP_PH, m.MODE_MANUAL).fields()["result"] == "DONE"
    return link.command(0, "DOSE", m.OUT_ACID, ul, progress_timeout=_WAIT_S)


@pytest.mark.bench(trace=True)
def test_trace_has_each_pin_edge_and_sample_at_its_millisecond(bench):
    board = bench.boards[0]
    with Link(board.protocol_port) as link:
        link.hello()
        done = manual_dose(link, 1000)  # 1 mL at 5 mL/min: 12 s on, at most 50 % duty
        assert (done.fields()["result"], done.fields()["value"]) == ("DONE", 1000)
    sim_s(bench, 2)
    trace = bench.trace(0)
    edges = trace.edges("v0_acid")
    assert [level for _t, level in edges] == [1, 0] * (len(edges) // 2) and edges
    on_ms = sum(off - on for (on, _), (off, _) in zip(edges[::2], edges[1::2], strict=True))
    assert abs(on_ms - 12000) <= 50  # the io task switches pumps every 50 ms
    # Every edge falls on the io task's 50 ms grid, at a millisecond of simulated time.
    assert len({t % 50 for t, _ in edges}) == 1
    # The plant took exactly what the pin's on-time delivered.
    vessel = trace.plant("v0")
    delivered = vessel["acid_added_ml"][-1] - vessel["acid_added_ml"][0]
    assert delivered == pytest.approx(on_ms / 60000 * PUMP_ML_PER_MIN, rel=1e-9)
    assert set(vessel) >= {"t_ms", "ph", "temp_c", "orp_mv_she", "heater_wh"}
    assert {b - a for a, b in pairwise(vessel["t_ms"])} == {1000}
    canister = trace.plant("c0")
    assert {b - a for a, b in pairwise(canister["t_ms"])} == {100}
    # The pH electrode is sampled every 100 ms (two inputs share its ADS1115); the chip
    # reports what the transducer converted, to one LSB.
    ph = trace.samples("v0_ph")
    assert {b - a for a, b in pairwise(ph["t_ms"])} == {100}
    assert all(abs(r - s) <= ADC_LSB_MV for r, s in zip(ph["reported"], ph["sensed"], strict=True))
    temp = trace.samples("v0_temp")  # DS18B20: 1/16 degC steps
    assert all(abs(r - s) <= 1 / 32 for r, s in zip(temp["reported"], temp["sensed"], strict=True))
    # A long run's trace read for one plant only (tools/bench/control.py): the same steps.
    kept = Trace.read(board.trace_path, plants=("v0",), samples=False)
    n = len(vessel["t_ms"])
    assert {k: c[:n] for k, c in kept.plant("v0").items()} == vessel
    assert kept.plant("c0")["t_ms"] == [] and kept.samples("v0_ph")["t_ms"] == []


@pytest.mark.bench(trace=1000)
def test_a_thinned_trace_keeps_a_step_and_a_sample_a_second_and_every_edge(bench):
    with Link(bench.boards[0].protocol_port) as link:
        link.hello()
        manual_dose(link, 500)  # 0.5 mL at 5 mL/min: the pump on for 6 s
    sim_s(bench, 3)
    trace = bench.trace(0)
    for name in ("v0", "c0"):
        assert {b - a for a, b in pairwise(trace.plant(name)["t_ms"])} == {1000}
    ph = trace.samples("v0_ph")["t_ms"]
    assert len(ph) > 5 and min(b - a for a, b in pairwise(ph)) >= 1000
    edges = trace.edges("v0_acid")
    # Edges are never thinned: each at its millisecond on the io task's 50 ms grid.
    on_ms = sum(off - on for (on, _), (off, _) in zip(edges[::2], edges[1::2], strict=True))
    assert abs(on_ms - 6000) <= 50 and any(t % 1000 for t, _ in edges)


@pytest.mark.bench(trace=True)
def test_trace_sees_a_sensor_fault_from_its_millisecond(bench):
    sim_s(bench, 1)  # a few good samples first
    before_ms = bench.state(0)["now_ms"]
    bench.inject(0, "sensor_open", target="v0_orp")
    after_ms = bench.state(0)["now_ms"]
    sim_s(bench, 1)
    orp = bench.trace(0).samples("v0_orp")
    rows = list(zip(orp["t_ms"], orp["sensed"], strict=True))
    first_nan = next(t for t, s in rows if math.isnan(s))
    last_good = max(t for t, s in rows if not math.isnan(s))
    assert before_ms <= first_nan <= after_ms + 100
    assert last_good < first_nan


@pytest.mark.bench(trace=True)
def test_electrode_in_a_buffer_reads_it_after_its_lag(bench):
    # smoke.toml: the pH electrode has tau 10 s and 0.2 mV noise.
    sim_s(bench, 30)  # settled in the vessel
    bench.to_standard(0, "v0_ph", "4.01", temp_c=25.0)
    assert bench.state(0)["standards"] == {"v0_ph": "4.01"}
    sim_s(bench, 90)
    ph = bench.trace(0).samples("v0_ph")
    buffer_mv = 0.198421 * 298.15 * (7.0 - 4.0059)  # Nernst at 25 degC, phthalate pH [S24]
    rows = list(zip(ph["t_ms"], ph["true"], ph["sensed"], strict=True))
    # The lag is exact from one sample to the next with the input held, so the step starts
    # at the last sample taken in the vessel.
    k = max(i for i, (_, true, _) in enumerate(rows) if abs(true - buffer_mv) > 1.0)
    t0, _, start_mv = rows[k]
    assert start_mv > buffer_mv + 100  # pH 1.8 in the vessel reads far higher
    assert all(true == pytest.approx(buffer_mv, abs=0.01) for _, true, _ in rows[k + 1:])
    for t, _, sensed in rows[k + 1:]:  # first-order lag, to the 0.2 mV rms of noise
        expected = buffer_mv + (start_mv - buffer_mv) * math.exp(-(t - t0) / 10000)
        assert sensed == pytest.approx(expected, abs=1.5)
    settled = [s for t, _, s in rows if t >= t0 + 80000]  # 8 tau: 0.05 mV of the step left
    assert sum(settled) / len(settled) == pytest.approx(buffer_mv, abs=0.2)
    bench.to_vessel(0, "v0_ph")
    assert bench.state(0)["standards"] == {}


def test_orp_electrode_takes_only_orp_standards(tmp_path):
    with Bench(SCENARIOS / "smoke.toml", speed=20, workdir=tmp_path, fresh=True) as bench:
        with pytest.raises(Exception, match="pH buffer"):
            bench.to_standard(0, "v0_orp", "7.00")
        bench.to_standard(0, "v0_orp", "quinhydrone_4.01", temp_c=25.0)
        assert bench.state(0)["standards"] == {"v0_orp": "quinhydrone_4.01"}


def test_pump_into_a_cylinder_delivers_what_it_really_pumps(tmp_path):
    # calibration_error: the pump delivers 3 % more than its board file's nominal rate.
    scenario = tmp_path / "cal.toml"
    scenario.write_text((SCENARIOS / "smoke.toml").read_text()
                        + "\n[outputs.v0_acid]\ncalibration_error = 0.03\n")
    with Bench(scenario, speed=20, workdir=tmp_path / "bench", fresh=True) as bench:
        board = bench.boards[0]
        bench.pump_to_cylinder(0, "v0_acid")
        vessel_ml = bench.state(0)["plants"]["v0"]["acid_added_ml"]
        with Link(board.protocol_port) as link:
            link.hello()
            assert manual_dose(link, 2000).fields()["result"] == "DONE"
        sim_s(bench, 1.5)  # the plant takes in what a pin delivered at its next 1 s step
        # 2 mL by the nominal rate: 24 s of pumping, to the 50 ms of the io task.
        assert bench.pump_to_vessel(0, "v0_acid") == pytest.approx(2.0 * 1.03, abs=0.005)
        assert bench.state(0)["plants"]["v0"]["acid_added_ml"] == vessel_ml
        assert bench.state(0)["cylinders"] == {}


def test_a_changed_file_on_the_flash_runs_after_a_reset(tmp_path):
    with Bench(SCENARIOS / "smoke.toml", speed=20, workdir=tmp_path, fresh=True) as bench:
        board = bench.boards[0]
        version = board.flash_dir / "app" / "runtime" / "__init__.py"
        assert (board.flash_dir / "main.py").exists() and version.exists()
        with Link(board.protocol_port) as link:
            hello = link.hello()
        assert (hello["fw_major"], hello["fw_minor"], hello["fw_patch"]) == (0, 1, 0)
        version.write_text(version.read_text().replace("(0, 1, 0)", "(7, 8, 9)"))
        bench.reset(0)
        with Link(board.protocol_port) as link:
            hello = link.hello()
        assert (hello["fw_major"], hello["fw_minor"], hello["fw_patch"]) == (7, 8, 9)


def test_a_flash_without_firmware_boots_to_the_repl(tmp_path):
    with Bench(SCENARIOS / "smoke.toml", speed=20, workdir=tmp_path, fresh=True,
               deploy=False) as bench:
        board = bench.boards[0]
        assert list(board.flash_dir.iterdir()) == []
        assert not wait_until(bench, 0, lambda s: not s["firmware"], "the REPL")["firmware"]
        done = subprocess.run([str(MPREMOTE), "connect", board.repl_port, "resume", "exec",
                               "import os; print(os.listdir('/'), 6 * 7)"],
                              capture_output=True, text=True, timeout=_WAIT_S)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[] 42"


MAIN_PROBE = """
try:
    import app
    found = "imported"
except ImportError:
    found = "missing"
with open("probe.txt", "w") as f:
    f.write(found)
"""


def test_no_firmware_module_comes_from_anywhere_but_the_flash(tmp_path):
    flash = tmp_path / "sim0"  # the bench's flash folder of board sim0
    flash.mkdir()
    (flash / "main.py").write_text(MAIN_PROBE)
    with Bench(SCENARIOS / "smoke.toml", speed=20, workdir=tmp_path, deploy=False) as bench:
        wait_until(bench, 0, lambda s: not s["firmware"], "main.py to end")
    assert (flash / "probe.txt").read_text() == "missing"
