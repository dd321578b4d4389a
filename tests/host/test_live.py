"""The dashboard's model (pilotedge.live) fed with frames as the logger hands them on, and the
dashboard's command line; no board needed."""

import pytest
from loggerkit import fields_of

from pilotedge import boardinfo, live
from pilotedge.codec import MESSAGE_IDS, Frame
from pilotedge.dashboard import parse_command
from pilotedge.display import Display
from pilotedge.errors import UsageError
from pilotproto import convert
from pilotproto import schema as s

HELLO = {"board_id": "sim", "fw_major": 0, "fw_minor": 1, "fw_patch": 0, "proto_version": 1,
         "schema_hash": 0, "boot_count": 3, "reset_cause": "POWER_ON", "vessels": 1,
         "canisters": 1, "uptime": 0.0}


class Port:
    """What LiveState reads of a logger's BoardPort."""

    def __init__(self):
        self.name, self.url, self.state = "sim0", "/dev/pts/9", "up"
        self.hello = HELLO
        self.units = boardinfo.units_of(HELLO)
        self.link = None

    def unit_name(self, number):
        return {u.number: u.name for u in self.units}.get(number, str(number))


class Logger:
    def __init__(self):
        self.ports = [Port()]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def frame(msg, **fields):
    msg_id = MESSAGE_IDS[msg]
    return Frame(msg_id, 0, 0, tuple(convert.to_raw(msg_id, fields_of(msg, fields))))


def vessel(**over):
    fields = dict(unit=0, ph=1.712, temp=35.02, orp=512, ph_sp=1.7, temp_sp=35.0,
                  ph_mode="AUTO", temp_mode="AUTO", outputs=0b101, heater=42, acid_total=0.0,
                  base_total=0.0, sensor_ok=0b111, alarms=0)
    fields.update(over)
    return frame("VESSEL", **fields)


def canister(**over):
    fields = dict(unit=1, pressure=12.5, shell_temp=21.0, ambient_temp=20.0, soc=55.5,
                  soc_valid="BAND", state="IDLE", valve_open=0, sensor_ok=0b111, alarms=0)
    fields.update(over)
    return frame("CANISTER", **fields)


def heartbeat(uptime):
    return frame("HEARTBEAT", uptime=uptime, state="RUN", faults=0, overruns=0, cycle_max=0,
                 heap_free=0, rx_errors=0)


def event(kind, code, unit=0, severity="ALARM", value=0.0, limit=0.0):
    return frame("EVENT", unit=unit, kind=kind, code=code, severity=severity, value=value,
                 limit=limit, uptime=0)


@pytest.fixture
def state():
    logger = Logger()
    st = live.LiveState(logger, Display(), clock=Clock())
    st.port = logger.ports[0]
    return st


def feed(st, *frames):
    for f in frames:
        st.feed(("frame", st.port, f))


def lines(st, width=80):
    return [line for u in st.units() for line in live.unit_lines(u, st.display, 1000.0, width)]


def test_values_with_units_set_points_modes_and_outputs(state):
    feed(state, heartbeat(10.0), vessel(), canister())
    text = lines(state)
    assert text[0] == "v0 vessel  pH 1.712 sp 1.700 AUTO  T 35.02 degC sp 35.00 AUTO  ORP 512 mV"
    assert text[1] == "  out acid,heater  heater 42%  uncalibrated"
    assert "c0 canister  P 12.500 bar  shell 21.00 degC  ambient 20.00 degC" in text
    assert "  SOC 55.5 % (band)  IDLE  valve closed" in text
    assert all(len(line) <= 80 for line in text)


def test_readings_the_frame_does_not_vouch_for_show_as_dashes(state):
    feed(state, vessel(sensor_ok=0b101), canister(soc_valid="INVALID"))
    text = lines(state)
    assert " T -- sp 35.00 AUTO" in text[0]
    assert "  SOC -- (invalid)  IDLE  valve closed" in text


def test_alarms_in_words_from_raised_to_acknowledged_and_cleared(state):
    feed(state, vessel(), event("RAISED", "PH_HIGH", value=2.412, limit=2.3))
    assert "  alarms: PH_HIGH 2.412 pH (limit 2.300 pH) NOT ACKED" in lines(state)
    assert state.events[-1].endswith("sim0 v0 PH_HIGH raised (ALARM): 2.412 pH, limit 2.300 pH")
    feed(state, event("ACKNOWLEDGED", "PH_HIGH", severity="INFO"))
    assert "  alarms: PH_HIGH 2.412 pH (limit 2.300 pH) acked" in lines(state)
    feed(state, event("CLEARED", "PH_HIGH"))
    assert "  alarms: none" in lines(state)
    assert state.trips() == []


def test_an_alarm_the_view_missed_shows_from_the_telemetry_bits(state):
    feed(state, vessel(alarms=1 << 1))  # PH_HIGH = 20 + 1
    assert "  alarms: PH_HIGH NOT ACKED" in lines(state)
    feed(state, vessel(alarms=0))  # its CLEARED got lost
    assert "  alarms: none" in lines(state)


def test_a_trip_is_a_banner_until_it_is_reset(state):
    feed(state, canister(state="TRIPPED", alarms=1 << 3),
         event("LATCHED", "TRIP", unit=1, severity="CRITICAL", value=31.0, limit=28.0))
    assert state.trips() == ["sim0 c0 TRIPPED", "sim0 c0 TRIP latched, not acknowledged"]
    feed(state, event("CLEARED", "TRIP", unit=1, severity="CRITICAL"))  # RESET_TRIP
    feed(state, event("ACKNOWLEDGED", "TRIP", unit=1, severity="INFO"), canister())
    assert state.trips() == []


def test_a_board_held_safe_is_a_banner(state):
    feed(state, frame("HEARTBEAT", uptime=5.0, state="SAFE", faults=0x12, overruns=0,
                      cycle_max=0, heap_free=0, rx_errors=0))
    assert state.trips() == ["sim0 is SAFE: outputs held safe (faults 0x12)"]


def test_doses_of_the_last_hour_and_day_against_the_budgets(state):
    calibrated = {name: bit for bit, name in s.ENUMS["CAL_FLAG"].items()}
    for minute in range(0, 150):
        feed(state, heartbeat(minute * 60.0),
             vessel(acid_total=minute * 0.5, cal=1 << calibrated["ACID"]))
    feed(state, frame("PARAM_VALUE", unit=0, name="acid_ml_hour", value=100000, index=0,
                      count=0, result="OK"))
    u = state.units()[0]
    acid_hour, base_hour = u.dosed(live.HOUR_S)
    assert acid_hour == pytest.approx(30.0, abs=0.6) and base_hour == 0.0
    assert u.dosed(live.DAY_S)[0] == pytest.approx(149 * 0.5)
    assert "  dosed acid 30.0/100 h 74.5/? d mL  base 0.0/? h 0.0/? d mL" in lines(state)
    # An uncalibrated pump: the 5/6 of its budget the board enforces (20 % rate error).
    feed(state, vessel(acid_total=74.5, cal=0))
    assert "  dosed acid 30.0/83.3 h 74.5/? d mL  base 0.0/? h 0.0/? d mL" in lines(state)
    feed(state, heartbeat(10.0), vessel(acid_total=1.0))  # a reboot: counters start again
    assert u.dosed(live.HOUR_S) == (0.0, 0.0)


def test_trend_of_the_main_values_fits_the_width(state):
    for i in range(100):
        feed(state, heartbeat(i * 10.0), vessel(ph=1.6 + i * 0.002), canister())
    narrow = [x for x in lines(state, 80) if x.startswith("  pH ")][0]
    wide = [x for x in lines(state, 160) if x.startswith("  pH ")][0]
    assert len(narrow) <= 80 < len(wide) <= 160
    assert narrow.split()[1].endswith("█") and "▁" in wide
    assert live.spark([1, None, 3], 10) == "▁ █"


def test_link_health_counts_frames_per_second(state):
    for _ in range(25):
        feed(state, heartbeat(1.0))
    health = state.boards[0].link_health(state.clock())
    assert health["frames_per_s"] == 25 / live.RATE_WINDOW_S
    assert health["heartbeat_age"] == 0.0
    assert "5.0 fr/s ? bad ? lost hb 0.0 s ago" in live.board_line(state.boards[0], 1000.0)


def test_notes_and_calibrations_from_the_log(state):
    state.feed(("note", state.port, "unplugged: port gone"))
    assert state.events[-1].endswith("sim0 on /dev/pts/9: unplugged: port gone")
    u = state.units()[0]
    u.calibrations.append({"sensor": "ph", "host_time": 1000.0 - 3 * 86400,
                           "expires": 1000.0 + 27 * 86400})
    assert live.calibration_words(u, 1000.0) == "cal ph 3 d old, expires in 27 d"


def test_calibration_status_from_the_board_bits_and_its_records(state):
    u = state.units()[0]
    assert live.calibration_words(u, 1000.0) == "cal n/a"  # no telemetry, no record
    now = 1.8e9
    feed(state, heartbeat(1.0), vessel(cal=0))
    assert live.calibration_words(u, now) == "uncalibrated"
    feed(state, vessel(cal=0b1101))  # pH; ORP, expired
    assert live.calibration_words(u, now) == "cal ph orp!"
    day = 86400.0
    feed(state, frame("CAL", unit=0, kind="ORP", points=1, wall_time=now - 40 * day,
                      life=30 * 24))
    feed(state, frame("CAL", unit=0, kind="PH", points=2, wall_time=now - 2 * day,
                      life=30 * 24))
    assert live.calibration_words(u, now) == "cal ph orp!, ph 2 d old, expires in 28 d"
    assert [c["sensor"] for c in u.calibrations] == ["ph", "orp"]
    assert any("heater 42%  cal ph orp!, ph " in x for x in lines(state))


@pytest.mark.parametrize("text, request_", [
    ("set v0 temp_sp 36 degC", ("set", "sim0", "v0", {"param": "temp_sp", "value": "36 degC"})),
    ("set sim0 v0 ph_sp 1.8", ("set", "sim0", "v0", {"param": "ph_sp", "value": "1.8"})),
    ("mode v0 ph manual", ("mode", "sim0", "v0", {"loop": "ph", "mode": "manual"})),
    ("ack v0 ph_high", ("ack", "sim0", "v0", {"alarm": "ph_high"})),
    ("dose v0 acid 5 mL", ("dose", "sim0", "v0", {"pump": "acid", "volume": "5 mL"})),
    ("batch stop v0", ("batch", "sim0", "v0", {"action": "stop"})),
])
def test_typed_commands_become_requests(text, request_):
    req = parse_command(text, ["sim0"], "alice")
    assert (req["op"], req["board"], req["unit"], req["args"]) == request_
    assert req["operator"] == "alice" and req["origin"] == "dashboard"


@pytest.mark.parametrize("text, words", [
    ("reboot", "commands: set [BOARD] UNIT PARAM VALUE"),
    ("mode v0 ph", "mode takes [BOARD] UNIT LOOP MODE"),
    ("ack v0", "ack takes [BOARD] UNIT ALARM"),
    ("set 'v0", "cannot read"),
])
def test_a_bad_command_line_is_one_line(text, words):
    with pytest.raises(UsageError) as err:
        parse_command(text, ["sim0"], "alice")
    assert words in str(err.value) and "\n" not in str(err.value)


def test_two_boards_need_the_board_named():
    with pytest.raises(UsageError, match="name the board"):
        parse_command("ack v0 ph_high", ["sim0", "sim1"], "alice")
    assert parse_command("ack sim1 v0 ph_high", ["sim0", "sim1"], "a")["board"] == "sim1"
