"""Link against the real firmware: handshake, exactly-once commands over a lossy line,
parameters, link loss on an injected clock, telemetry and counters, and boards of another
build. The board is the firmware running in this process behind a socket
(firmware_board.py) or, for a board built from another spec, a bench board."""

import inspect
import time

import pytest
from firmware_board import FirmwareBoard

from pilotedge import link as link_mod
from pilotedge.bench import Bench
from pilotedge.codec import EncodeError
from pilotedge.errors import PilotedgeError
from pilotproto import messages as m
from pilotproto import schema

SMOKE = __file__.rsplit("/", 2)[0] + "/sim/scenarios/smoke.toml"
V0, C0 = 0, 1  # wire unit numbers on the sim board


def wait_until(predicate, timeout_s=10.0):
    """Poll until predicate() holds; AssertionError after timeout_s (a bound, not a measure)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met within %.1f s" % timeout_s
        time.sleep(0.002)


class FakeClock:
    """The host's injectable monotonic clock, in seconds; moves only when a test moves it."""

    def __init__(self):
        self.now_s = 1000.0

    def __call__(self):
        return self.now_s


@pytest.fixture
def board():
    b = FirmwareBoard()
    yield b
    b.close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def states():
    return []


@pytest.fixture
def link(board, clock, states):
    with link_mod.Link(board.url, clock=clock, on_state=lambda *s: states.append(s)) as li:
        yield li


def _manual_ph(link):
    """The vessel's pH loop to MANUAL once its sensors are valid, so that host doses are
    taken."""
    vessels = link.listen("VESSEL")
    while vessels.get(timeout=10).fields()["sensor_ok"] & 3 != 3:
        pass
    ack = link.command(V0, "SET_MODE", m.LOOP_PH, m.MODE_MANUAL)
    assert ack.fields()["result"] == "DONE", ack.fields()


def test_hello_then_heartbeats_are_echoed(board, link):
    assert link.state == ("up" if link.board else "open")  # the board's boot HELLO may be in
    hello = link.hello()
    assert hello["board_id"] == "sim" and hello["schema_hash"] == m.SCHEMA_HASH
    assert link.state == "up"
    # The host answers every board heartbeat, and sends one right after the handshake.
    wait_until(lambda: board.line.from_host["HEARTBEAT"] >= 3)


def test_a_dose_whose_ack_is_lost_runs_exactly_once(board, link):
    link.hello()
    _manual_ph(link)
    board.line.drop_acks = 1  # the IN_PROGRESS answer to the first transmission is lost
    ack = link.command(V0, "DOSE", "ACID", 500, timeout=0.1)
    assert ack.fields()["result"] == "DONE" and ack.fields()["value"] == 500
    dose = [c for c, n in board.line.commands.items() if n >= 2]
    assert dose, "the host did not resend the DOSE"
    with board.runtime() as rt:
        line = rt.units[V0].acid.line
        assert abs(line.total_ml * 1000 + line.total_ul - 500) <= 5  # dosed once, not twice


def test_a_ping_whose_ack_is_lost_gets_the_cached_ack(board, link):
    link.hello()
    board.line.drop_acks = 1
    assert link.command(V0, "PING", timeout=0.1).fields()["result"] == "DONE"
    (count,) = [n for n in board.line.commands.values()]
    assert count == 2


def test_in_progress_stops_resending(board, link):
    link.hello()
    _manual_ph(link)
    before = sum(board.line.commands.values())
    ack = link.command(V0, "DOSE", "BASE", 200, timeout=0.05)  # 2.4 board s of pumping
    assert ack.fields()["result"] == "DONE"
    assert sum(board.line.commands.values()) == before + 1


def test_rejected_command_returns_its_reason(link):
    link.hello()
    ack = link.command(V0, "VALVE", 1).fields()  # not a vessel's verb (spec: verbs)
    assert (ack["result"], ack["reason"], ack["verb"]) == ("REJECTED", "UNKNOWN_VERB", "VALVE")


def test_no_answer_fails_after_the_retries(board, link):
    link.hello()
    board.line.mute_host = True
    before = sum(board.line.commands.values())
    with pytest.raises(link_mod.LinkError, match=r"no answer to PING .* after 3 tries"):
        link.command(V0, "PING", timeout=0.05, retries=2)
    wait_until(lambda: sum(board.line.commands.values()) == before + 3)


def test_cmd_ids_start_random_and_wrap(board, clock, monkeypatch):
    calls = []
    monkeypatch.setattr(link_mod.secrets, "randbits", lambda n: calls.append(n) or 0xFFFFFFFF)
    with link_mod.Link(board.url, clock=clock) as li:
        li.hello()
        li.command(V0, "PING")
        li.command(V0, "PING")
    assert calls == [32]
    assert list(board.line.commands) == [0xFFFFFFFF, 0]


def test_refused_parameter_set_echoes_the_value_in_force(board):
    # The sim board's hw_limits rate its canister at 30 bar: under the protocol's 40.
    with link_mod.Link(board.url) as li:
        li.hello()
        refused = li.param_set(C0, "p_msl", 35.0)
        assert (refused.result, refused.value, refused.name) == ("OUT_OF_RANGE", 28.0, "p_msl")
        accepted = li.param_set(C0, "p_msl", "2900 kPa")
        assert (accepted.result, accepted.value) == ("OK", 29.0)
        assert li.param_get(C0, "p_msl").value == 29.0
        with pytest.raises(EncodeError, match=r"p_msl = 45.0 bar is out of range"):
            li.param_set(C0, "p_msl", 45.0)  # outside the protocol range: never sent
        assert board.line.from_host["PARAM_SET"] == 2


def test_link_is_lost_when_the_board_falls_silent_and_restored(board, link, clock, states):
    link.hello()
    board.line.mute_board = True  # the cable is pulled on the board's side
    # No heartbeat has told the host the board's rate: one board second per host second.
    clock.now_s += 5.0  # five heartbeat periods without one: not yet more than five missed
    assert link.state == "up"
    clock.now_s += 0.01
    assert link.state == "lost"
    board.line.mute_board = False
    wait_until(lambda: link.state == "up")
    assert states == [("open", "up"), ("up", "lost"), ("lost", "up")]
    assert link.counters()["link_losses"] == 1


def test_telemetry_subscriptions_and_sequence_gaps(board, link):
    link.hello()
    vessels = link.listen("VESSEL")
    events = []
    cancel = link.subscribe(events.append, "EVENT")
    first = vessels.get(timeout=5).fields()
    assert first["unit"] == V0 and first["temp_sp"] == 35.0
    board.line.lose = 3  # three of the board's frames lost on the line
    _manual_ph(link)
    link.command(V0, "ACK_ALARM", m.EVENT_PH_HIGH)  # an ACKNOWLEDGED event follows
    wait_until(lambda: [e for e in events if e.fields()["kind"] == "ACKNOWLEDGED"])
    cancel()
    seen = len(events)
    link.command(V0, "ACK_ALARM", m.EVENT_PH_HIGH)
    vessels.get(timeout=5)
    assert len(events) == seen
    counters = link.counters()
    assert counters["rx_lost"] == 3


def test_wrong_port_is_a_one_line_library_error():
    with pytest.raises(PilotedgeError, match="no such port /dev/pilotedge-no-such-port"):
        link_mod.Link("/dev/pilotedge-no-such-port")


def test_any_pyserial_url_works_and_a_loopback_is_no_board():
    with link_mod.Link("loop://") as li:  # a loopback hears its own HELLO: no board's
        with pytest.raises(link_mod.LinkError, match="no board answering on loop://: it sends "
                                                     "back what the host sends"):
            li.hello(timeout=0.05, retries=0)


def test_a_command_argument_outside_its_spec_range_is_refused_before_sending(board, link):
    link.hello()
    before = sum(board.line.commands.values())
    for verb, arg0, arg1 in (("ACK_ALARM", 70000, 0), ("DOSE", "HEATER", 10), ("PING", 0, 1)):
        with pytest.raises(EncodeError, match=verb):
            link.command(V0, verb, arg0, arg1)
    assert sum(board.line.commands.values()) == before
    _manual_ph(link)
    ack = link.command(V0, "DOSE", "ACID", 200, timeout=0.1)  # members by name
    assert ack.fields()["value"] == 200


def test_the_retry_defaults_are_the_spec_s_the_board_sizes_its_memory_for():
    params = inspect.signature(link_mod.Link.command).parameters
    assert params["timeout"].default == schema.CMD_TIMEOUT_MS / 1000
    assert params["retries"].default == schema.CMD_RETRIES
    assert params["progress_timeout"].default == schema.PROGRESS_TIMEOUT_MS / 1000
    window_ms = schema.CMD_TIMEOUT_MS * (schema.CMD_RETRIES + 1) + schema.PROGRESS_TIMEOUT_MS
    assert m.CMD_KEEP_MS >= 2 * window_ms


def _board_of_another_build(tmp_path, modules, ours, theirs):
    """A bench board whose deployed firmware was built from another spec: the generated
    spec values `ours` become `theirs` in the flash's copies of `modules`, then the board
    restarts on them."""
    bench = Bench(SMOKE, speed=20, workdir=tmp_path, fresh=True)
    board = bench.start()[0]
    for module in modules:
        path = board.flash_dir / "app" / module
        text = path.read_text()
        assert ours in text, (module, ours)
        path.write_text(text.replace(ours, theirs))
    bench.reset(0)
    # Its boot HELLO goes out before a link opens, so the link gets only the answer to its
    # own: a board still starting sends both.
    bench.wait_sim(0, bench.state(0)["now_ms"] / 1000 + 2.0)
    return bench, board


def test_schema_mismatch_is_refused_naming_both_versions(tmp_path):
    bench, board = _board_of_another_build(
        tmp_path, ["runtime/link.py"], "_SCHEMA_HASH = const(0x%08X)" % m.SCHEMA_HASH,
        "_SCHEMA_HASH = const(0x12345678)")
    try:
        with link_mod.Link(board.protocol_port) as li:
            with pytest.raises(link_mod.LinkError) as err:
                li.hello(timeout=2.0, retries=5)  # a loaded machine restarts a board slowly
            text = str(err.value)
            assert "schema 0x12345678" in text and "schema 0x%08X" % m.SCHEMA_HASH in text
            assert "'sim'" in text and "pilotedge" in text
            assert li.state == "refused"
            with pytest.raises(link_mod.LinkError, match="0x12345678"):
                li.command(V0, "PING")
            assert li.counters()["errors"]["schema"] == 1
    finally:
        bench.stop()


def test_other_protocol_version_is_refused_naming_both(tmp_path):
    bench, board = _board_of_another_build(
        tmp_path, ["pilotproto/framing.py", "runtime/link.py"], "_VERSION = const(%d)" % m.VERSION,
        "_VERSION = const(%d)" % (m.VERSION + 1))
    try:
        with link_mod.Link(board.protocol_port) as li:
            with pytest.raises(link_mod.LinkError) as err:
                li.hello(timeout=0.5, retries=2)
            assert "protocol version %d" % (m.VERSION + 1) in str(err.value)
            assert "speaks protocol %d" % m.VERSION in str(err.value)
    finally:
        bench.stop()
