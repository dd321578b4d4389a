"""The real firmware on the virtual bench, through the real protocol on a pty.

Each test starts a bench (conftest.py `bench` fixture) and talks to its boards like to boards
on USB cables: pilotedge.link.Link and pyserial on the protocol pty, mpremote and
pytest-embedded-serial on the REPL pty. Waits have generous wall-clock limits only to end a
hung test; nothing asserts how long anything took.
"""

import queue
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from pilotedge import codec
from pilotedge.link import Link, LinkError
from pilotproto import messages as m

MPREMOTE = Path(sys.executable).parent / "mpremote"
_WAIT_S = 60.0
_TEMP_BIT = 1 << 1  # VESSEL.sensor_ok bit 1: temperature


def wait_for(frames, *accepts):
    """From a Link.listen() queue, the first frame each accept(frame) likes, in any order."""
    found = [None] * len(accepts)
    deadline = time.monotonic() + _WAIT_S
    while None in found:
        assert time.monotonic() < deadline, "no matching frame within %.0f s" % _WAIT_S
        try:
            frame = frames.get(timeout=1.0)
        except queue.Empty:
            continue
        for i, accept in enumerate(accepts):
            if found[i] is None and accept(frame):
                found[i] = frame
    return found


def next_frame(frames, accept):
    return wait_for(frames, accept)[0]


def mpremote(port, *args):
    done = subprocess.run([str(MPREMOTE), "connect", port, *args], capture_output=True,
                          text=True, timeout=_WAIT_S)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_hello_over_the_protocol_pty(bench):
    board = bench.boards[0]
    with Link(board.protocol_port) as link:
        hello = link.hello()
    assert hello["board_id"] == "sim"
    assert (hello["reset_cause"], hello["boot_count"]) == ("POWER_ON", 1)
    assert (hello["vessels"], hello["canisters"]) == (1, 1)


def test_telemetry_follows_the_plant(bench):
    board = bench.boards[0]
    with Link(board.protocol_port) as link:
        link.hello()
        frames = link.listen("VESSEL", "CANISTER", "EVENT")
        vessel = next_frame(frames, lambda f: f.name == "VESSEL"
                            and f.fields()["sensor_ok"] == 15).fields()  # and the 2nd thermometer
        truth = bench.state(0)["plants"]
        # Sensor noise, DS18B20 1/16 degC steps and the few simulated seconds between the
        # frame and the state query stay well inside these bands.
        assert vessel["temp"] == pytest.approx(truth["v0"]["temp_c"], abs=0.2)
        assert vessel["ph"] == pytest.approx(truth["v0"]["ph"], abs=0.05)
        can = next_frame(frames, lambda f: f.name == "CANISTER"
                         and f.fields()["sensor_ok"] & 7 == 7).fields()
        truth = bench.state(0)["plants"]
        assert can["pressure"] == pytest.approx(truth["c0"]["pressure_bar"], abs=0.02)
        assert can["shell_temp"] == pytest.approx(truth["c0"]["shell_c"], abs=0.2)
        # A disturbance of the plant shows up in telemetry, through the sensor's thermowell
        # (30 s lag): the reading follows the well, the well the broth. A broth does not warm
        # 5 K at once: the board flags the jump (RATE) and takes the reading once the time
        # since its last plausible one would let a heated vessel get there.
        bench.inject(0, "set", target="v0", values={"temp_c": 40.0})
        rate, hot = wait_for(
            frames,
            lambda f: f.name == "EVENT" and f.fields()["code"] == "SENSOR_FAULT",
            lambda f: f.name == "VESSEL" and f.fields()["temp"] > 39.5)
        assert rate.fields()["limit"] == m.CHECK_RATE
        assert rate.fields()["value"] in (1, 3)  # either thermometer, both are in the well
        truth = bench.state(0)["plants"]["v0"]
        assert hot.fields()["temp"] == pytest.approx(truth["well_c"], abs=0.2)
        assert truth["temp_c"] == pytest.approx(40.0, abs=0.5)


def test_injected_sensor_fault_shows_in_telemetry_and_events(bench):
    board = bench.boards[0]
    with Link(board.protocol_port) as link:
        link.hello()
        frames = link.listen("VESSEL", "EVENT")
        next_frame(frames, lambda f: f.name == "VESSEL" and f.fields()["sensor_ok"] & _TEMP_BIT)
        bench.inject(0, "sensor_open", target="v0_temp")
        _vessel, event = wait_for(
            frames,
            lambda f: f.name == "VESSEL" and not f.fields()["sensor_ok"] & _TEMP_BIT,
            lambda f: f.name == "EVENT" and f.fields()["code"] == "SENSOR_FAULT",
        )
        assert (event.fields()["unit"], event.fields()["kind"]) == (0, "RAISED")
        bench.inject(0, "sensor_ok", target="v0_temp")
        next_frame(frames, lambda f: f.name == "VESSEL" and f.fields()["sensor_ok"] & _TEMP_BIT)


def test_reset_and_power_cut_restart_the_board_on_the_same_flash(bench):
    board = bench.boards[0]
    flash = board.flash_dir
    with Link(board.protocol_port) as link:
        boot = link.hello()["boot_count"]
    files = {p.name for p in flash.iterdir() if p.suffix != ".tmp"}  # not a save under way
    before_ms = bench.state(0)["now_ms"]
    bench.reset(0)
    assert board.flash_dir == flash and files <= {p.name for p in flash.iterdir()}
    with Link(board.protocol_port) as link:
        hello = link.hello()
    assert (hello["boot_count"], hello["reset_cause"]) == (boot + 1, "HARD")
    after_ms = bench.state(0)["now_ms"]
    assert after_ms >= before_ms  # the plant did not restart with the board
    bench.power_cut(0, off_s=60)
    with Link(board.protocol_port) as link:
        hello = link.hello()
    assert (hello["boot_count"], hello["reset_cause"]) == (boot + 2, "POWER_ON")
    assert bench.state(0)["now_ms"] >= after_ms + 60000
    assert board.resets == [m.RESET_HARD, m.RESET_POWER_ON]


def test_power_cut_in_the_middle_of_a_config_write(bench):
    # temp_high: a parameter the scenario leaves alone, so no late answer to the scenario's
    # own PARAM_SETs (matched by unit and name, like every PARAM_VALUE) can get in the way.
    board = bench.boards[0]
    with Link(board.protocol_port) as link:
        link.hello()
        assert link.param_get(0, "temp_high").value == 45.0
        boots = board.boots
        bench.inject(0, "flash_cut", after_bytes=16)
        with pytest.raises(LinkError):  # the power dies while the board stores the value
            link.param_set(0, "temp_high", 48.0, retries=0)
    board.wait_boots(boots + 1)
    cut = [p.name for p in board.flash_dir.iterdir() if p.stat().st_size == 16]
    assert cut, "no file was left with exactly the 16 bytes written before the cut"
    with Link(board.protocol_port) as link:
        assert link.hello()["reset_cause"] == "POWER_ON"
        assert link.param_get(0, "temp_high").value == 45.0  # the old copy survived


def test_mpremote_sees_the_flash_folder(bench, tmp_path):
    board = bench.boards[0]
    listing = mpremote(board.repl_port, "resume", "fs", "ls")
    for p in board.flash_dir.iterdir():
        assert "%12d %s" % (p.stat().st_size, p.name) in listing
    local = tmp_path / "note.txt"
    local.write_text("written by mpremote\n")
    mpremote(board.repl_port, "resume", "fs", "cp", str(local), ":")
    assert (board.flash_dir / "note.txt").read_text() == "written by mpremote\n"
    assert "written by mpremote" in mpremote(board.repl_port, "resume", "fs", "cat", "note.txt")
    assert bench.state(0)["firmware"]  # `resume` leaves the firmware running
    # Without `resume` mpremote soft-resets in raw REPL mode: as on a board, main.py (here:
    # the firmware) does not run again until a reset.
    mpremote(board.repl_port, "fs", "ls")
    assert board.resets == [m.RESET_SOFT]
    assert not bench.state(0)["firmware"]
    bench.reset(0)
    assert bench.state(0)["firmware"]


INNER_TEST = '''
def test_repl_answers(dut):
    dut.write(b"\\x02")
    dut.expect_exact("Type \\"help()\\" for more information.")
    dut.write("print(6 * 7)")
    dut.expect("42")
'''


def test_pytest_embedded_serial_reads_the_repl_pty(bench, tmp_path):
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py",
         "--embedded-services", "serial", "--port", bench.boards[0].repl_port],
        cwd=tmp_path, capture_output=True, text=True, timeout=_WAIT_S,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_serial_noise_never_yields_a_bogus_frame(bench):
    board = bench.boards[0]
    board.relay.tap = bytearray()  # the clean stream, before the noise
    port = serial.serial_for_url(board.protocol_port, timeout=0.1)
    port.reset_input_buffer()
    bench.inject(0, "serial_noise", flip=0.003, drop=0.002, insert=0.002, direction="to_host")
    decoder = codec.StreamDecoder()
    got = []
    deadline = time.monotonic() + _WAIT_S
    while len(got) < 150 or not decoder.errors["crc"]:
        assert time.monotonic() < deadline, "too few frames through the noise"
        got += decoder.feed(port.read(4096))
    port.close()
    clean = codec.StreamDecoder().feed(bytes(board.relay.tap))
    sent = {(f.msg_id, f.seq, f.values) for f in clean}
    assert [f for f in got if (f.msg_id, f.seq, f.values) not in sent] == []
    assert board.relay.noise.flipped and board.relay.noise.dropped and board.relay.noise.inserted


@pytest.mark.bench(boards=2)
def test_two_boards_have_their_own_endpoints_and_flash(bench):
    a, b = bench.boards
    assert len({a.protocol_port, a.repl_port, b.protocol_port, b.repl_port}) == 4
    assert a.flash_dir != b.flash_dir
    for board in (a, b):
        with Link(board.protocol_port) as link:
            assert link.hello()["boot_count"] == 1
    bench.reset(1)
    assert (a.resets, b.resets) == ([], [m.RESET_HARD])
