"""Link against a fake board over socket://: handshake, exactly-once commands, parameters,
link loss on an injected clock, telemetry and counters."""

import inspect

import pytest
from fakeboard import FakeBoard, FakeClock, wait_until

from pilotedge import link as link_mod
from pilotedge.codec import EncodeError
from pilotedge.errors import PilotedgeError
from pilotproto import messages as m
from pilotproto import schema


@pytest.fixture
def board():
    b = FakeBoard()
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


def test_hello_then_heartbeats_are_echoed(board, link):
    assert link.state == "open"
    hello = link.hello()
    assert hello["board_id"] == "fake-1" and hello["schema_hash"] == m.SCHEMA_HASH
    assert link.state == "up"
    board.heartbeat()
    board.heartbeat()
    wait_until(lambda: board.host_heartbeats == 3)  # one right after the handshake


def test_a_dose_whose_ack_is_lost_runs_exactly_once(board, link):
    link.hello()
    board.drop_acks = 1  # the IN_PROGRESS answer to the first transmission is lost
    board.dose_s = 0.5  # still dosing when the host resends
    ack = link.command(1, "DOSE", 0, 5000, timeout=0.1)
    assert ack.fields()["result"] == "DONE" and ack.fields()["value"] == 5000
    (cmd_id,) = board.commands
    assert board.commands[cmd_id] >= 2, "the host did not resend"
    assert board.executed[cmd_id] == 1


def test_a_ping_whose_ack_is_lost_gets_the_cached_ack(board, link):
    link.hello()
    board.drop_acks = 1
    assert link.command(0, "PING", timeout=0.1).fields()["result"] == "ACCEPTED"
    (cmd_id,) = board.commands
    assert board.commands[cmd_id] == 2 and board.executed[cmd_id] == 1


def test_in_progress_stops_resending(board, link):
    link.hello()
    board.dose_s = 0.3  # far longer than the resend timeout below
    ack = link.command(1, "DOSE", 1, 200, timeout=0.05)
    assert ack.fields()["result"] == "DONE"
    assert list(board.commands.values()) == [1]


def test_rejected_command_returns_its_reason(link):
    link.hello()
    ack = link.command(0, "REBOOT").fields()
    assert (ack["result"], ack["reason"], ack["verb"]) == ("REJECTED", "UNKNOWN_VERB", "REBOOT")


def test_no_answer_fails_after_the_retries(board, link):
    link.hello()
    board.silent = True
    with pytest.raises(link_mod.LinkError, match=r"no answer to PING .* after 3 tries"):
        link.command(0, "PING", timeout=0.05, retries=2)
    wait_until(lambda: sum(board.commands.values()) == 3)


def test_cmd_ids_start_random_and_wrap(board, clock, monkeypatch):
    calls = []
    monkeypatch.setattr(link_mod.secrets, "randbits", lambda n: calls.append(n) or 0xFFFFFFFF)
    with link_mod.Link(board.url, clock=clock) as li:
        li.hello()
        li.command(0, "PING")
        li.command(0, "PING")
    assert calls == [32]
    assert list(board.commands) == [0xFFFFFFFF, 0]


def test_schema_mismatch_is_refused_naming_both_versions(clock):
    board = FakeBoard(schema_hash=0x12345678)
    try:
        with link_mod.Link(board.url, clock=clock) as li:
            with pytest.raises(link_mod.LinkError) as err:
                li.hello()
            text = str(err.value)
            assert "schema 0x12345678" in text and "schema 0x%08X" % m.SCHEMA_HASH in text
            assert "'fake-1'" in text and "pilotedge" in text
            assert li.state == "refused"
            with pytest.raises(link_mod.LinkError, match="0x12345678"):
                li.command(0, "PING")
            assert li.counters()["errors"]["schema"] == 1
    finally:
        board.close()
    assert board.received["COMMAND"] == 0


def test_other_protocol_version_is_refused_naming_both(clock):
    board = FakeBoard(header_version=m.VERSION + 1)
    try:
        with link_mod.Link(board.url, clock=clock) as li:
            with pytest.raises(link_mod.LinkError) as err:
                li.hello(timeout=0.2, retries=0)
            assert "protocol version %d" % (m.VERSION + 1) in str(err.value)
            assert "speaks protocol %d" % m.VERSION in str(err.value)
    finally:
        board.close()


def test_refused_parameter_set_echoes_the_value_in_force():
    board = FakeBoard(hw_max={"p_msl": 30000})  # this rig's vessel is rated lower than 40 bar
    try:
        with link_mod.Link(board.url) as li:
            li.hello()
            refused = li.param_set(0, "p_msl", 35.0)
            assert (refused.result, refused.value, refused.name) == ("OUT_OF_RANGE", 28.0, "p_msl")
            accepted = li.param_set(0, "p_msl", "2900 kPa")
            assert (accepted.result, accepted.value) == ("OK", 29.0)
            assert li.param_get(0, "p_msl").value == 29.0
            with pytest.raises(EncodeError, match=r"p_msl = 45.0 bar is out of range"):
                li.param_set(0, "p_msl", 45.0)  # outside the protocol range: never sent
            assert board.received["PARAM_SET"] == 2
    finally:
        board.close()


def test_link_is_lost_after_five_missed_heartbeats_and_restored(board, link, clock, states):
    link.hello()
    clock.now_s += 5.0  # five heartbeat periods without one: not yet more than five missed
    assert link.state == "up"
    clock.now_s += 0.01
    assert link.state == "lost"
    board.heartbeat()
    wait_until(lambda: board.host_heartbeats == 2)  # echoed after the state was updated
    assert link.state == "up"
    assert states == [("open", "up"), ("up", "lost"), ("lost", "up")]
    assert link.counters()["link_losses"] == 1


def test_telemetry_subscriptions_and_sequence_gaps(board, link):
    link.hello()
    vessels = link.listen("VESSEL")
    events = []
    cancel = link.subscribe(events.append, "event")
    vessel = {
        "unit": 1,
        "ph": 1.71,
        "temp": 35.5,
        "orp": 600,
        "ph_sp": 1.7,
        "temp_sp": 35.0,
        "ph_mode": "AUTO",
        "temp_mode": "AUTO",
        "outputs": 0,
        "heater": 10,
        "acid_total": 1.5,
        "base_total": 0.0,
        "sensor_ok": 7,
        "alarms": 0,
    }
    event = {
        "unit": 1,
        "kind": "RAISED",
        "code": "PH_HIGH",
        "severity": "ALARM",
        "value": 2.4,
        "limit": 2.3,
        "uptime": 10.0,
    }
    board.send("VESSEL", vessel)
    board.skip_seq(3)
    board.send("EVENT", event)
    assert vessels.get(timeout=5).fields() == vessel
    wait_until(lambda: len(events) == 1)
    assert events[0].fields()["code"] == "PH_HIGH"
    cancel()
    board.send("EVENT", event)
    board.send("VESSEL", vessel)
    vessels.get(timeout=5)
    assert len(events) == 1
    counters = link.counters()
    assert counters["rx_lost"] == 3
    # HELLO both ways, and the host's heartbeat that brings the board's link up at once
    assert counters["rx_frames"] == 5 and counters["tx_frames"] == 2


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
    for verb, arg0, arg1 in (("ACK_ALARM", 70000, 0), ("DOSE", "HEATER", 10), ("PING", 0, 1)):
        with pytest.raises(EncodeError, match=verb):
            link.command(0, verb, arg0, arg1)
    assert not board.commands
    ack = link.command(0, "DOSE", "ACID", 200, timeout=0.1)  # members by name
    assert ack.fields()["value"] == 200


def test_the_retry_defaults_are_the_spec_s_the_board_sizes_its_memory_for():
    params = inspect.signature(link_mod.Link.command).parameters
    assert params["timeout"].default == schema.CMD_TIMEOUT_MS / 1000
    assert params["retries"].default == schema.CMD_RETRIES
    assert params["progress_timeout"].default == schema.PROGRESS_TIMEOUT_MS / 1000
    window_ms = schema.CMD_TIMEOUT_MS * (schema.CMD_RETRIES + 1) + schema.PROGRESS_TIMEOUT_MS
    assert m.CMD_KEEP_MS >= 2 * window_ms
