"""The guided calibration's conversation (pilotedge.calibrate) against a fake board: what it
asks, what it sends, and that every way out but a stored record cancels the calibration."""

import time

import pytest

from mpy import FIRMWARE
from pilotedge import calibrate
from pilotedge.errors import Refused, UnitError, UsageError

NOW = 1_760_000_000.0


def record(kind, points=2, health="GOOD", **more):
    r = {"kind": kind, "points": points, "health": health, "expired": 0, "slope": 96.04,
         "offset": 7.93, "alk_slope": 96.04, "alk_offset": 7.93, "break_ph": 7.0,
         "rate": 5.2, "temp1": 5.0, "wall_time": NOW - 86400, "age": 24.0, "life": 720}
    r.update(more)
    return r


class FakeBoard:
    """Answers `cal` steps as ops.execute does; refuse: {step: outcome text} to refuse."""

    def __init__(self, refuse=None, finish_health="GOOD"):
        self.sent = []
        self.refuse = refuse or {}
        self.health = finish_health

    def send(self, args, progress):
        self.sent.append(dict(args))
        step = args["step"]
        if step in self.refuse:
            return {"result": "rejected", "text": "rejected: " + self.refuse[step]}
        out = {"result": "done", "text": "done: %s" % step}
        if step == "point":
            progress("settling: 180.0 mV, 40 % steady")
            out.update(mv=177.3, rate=5.2)
        if step == "finish":
            points = sum(1 for a in self.sent if a["step"] == "point")
            out["record"] = record(args["kind"].upper(), points)
        return out

    def steps(self):
        return [a["step"] for a in self.sent]


class Person:
    """Types `answers` in turn (Enter at every "press Enter"); an exception is raised."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.prompts = []
        self.said = []

    def ask(self, prompt):
        self.prompts.append(prompt)
        if prompt.endswith("press Enter: "):
            return ""
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def guide(self, board, yes=False):
        return calibrate.Guide(board.send, ask=self.ask, say=self.said.append, yes=yes)


def test_ph_asks_for_buffers_again_until_it_can_use_them():
    board = FakeBoard()
    person = Person(["", "5.5", "", "4", "7", "oops", ""])
    rec = calibrate.ph(person.guide(board))
    assert person.prompts[0] == "Temperature of the buffers [25 degC]: "
    assert person.prompts[1:4] == ["Buffer 1 (1.68, 4.01, 6.86, 7.00, 9.18, 10.01): "] * 3
    assert "no pH buffer '5.5' (buffers: 1.68, 4.01, 6.86, 7.00, 9.18, 10.01)" in person.said
    assert "no pH buffer '' (buffers: 1.68, 4.01, 6.86, 7.00, 9.18, 10.01)" in person.said
    assert board.steps() == ["start", "point", "point", "finish"]
    assert [(a.get("standard"), a.get("temperature")) for a in board.sent[1:3]] == [
        (4010, "25.00 degC"), (7000, "25.00 degC")]
    assert rec["points"] == 2
    assert "settling: 180.0 mV, 40 % steady" in person.said
    assert "no pH buffer 'oops' (buffers: 1.68, 4.01, 6.86, 7.00, 9.18, 10.01)" in person.said
    assert calibrate.record_words(rec, NOW) == (
        "ph: 2-point, slope 96.0 %% of Nernst, offset 7.9 mV, GOOD; taken %s, expires in "
        "29.0 d" % time.strftime("%Y-%m-%d %H:%M", time.localtime(NOW - 86400)))


def test_ph_takes_three_buffers_at_most_and_the_options_without_asking():
    board = FakeBoard()
    person = Person([])
    calibrate.ph(person.guide(board, yes=True), ["1.68", "4.01", "7.00"], "77 degF")
    assert person.prompts == []
    assert board.steps() == ["start", "point", "point", "point", "finish"]
    assert board.sent[1]["temperature"] == "25.00 degC"
    with pytest.raises(UsageError, match="takes 1 to 3 buffers, not 4"):
        calibrate.ph(person.guide(board), ["1.68", "4.01", "7.00", "9.18"], "25 degC")
    with pytest.raises(UnitError, match="outside 0-60 degC"):
        calibrate.ph(person.guide(board), ["4.01"], "90 degC")
    assert board.steps().count("start") == 1  # nothing sent for either


def test_a_rejected_fit_is_cancelled_and_refused():
    board = FakeBoard(refuse={"finish": "pH calibration of v0 on sim not stored: LIMIT"})
    with pytest.raises(Refused, match="not stored: LIMIT"):
        calibrate.ph(Person([]).guide(board, yes=True), ["4.01", "7.00"], "25 degC")
    assert board.steps() == ["start", "point", "point", "finish", "cancel"]


@pytest.mark.parametrize("way_out", [KeyboardInterrupt(), EOFError()])
def test_ctrl_c_or_no_more_input_cancels(way_out):
    board = FakeBoard()
    person = Person(["4.01", way_out])
    with pytest.raises((KeyboardInterrupt, UsageError)) as raised:
        calibrate.ph(person.guide(board), temp="25 degC")
    if isinstance(way_out, EOFError):
        assert str(raised.value) == ("no answer to 'Buffer 2 (1.68, 4.01, 6.86, 7.00, 9.18, "
                                     "10.01; Enter to fit)' (input closed): give --buffer")
    assert board.steps() == ["start", "point", "cancel"]
    assert person.said[-2:] == ["cancelled: the board keeps the calibration it had",
                                "Rinse the electrode and put it back into the vessel."]


def test_a_refused_start_sends_nothing_more():
    board = FakeBoard(refuse={"start": "BUSY (a calibration is already under way)"})
    with pytest.raises(Refused, match="already under way"):
        calibrate.orp(Person([]).guide(board, yes=True), "quinhydrone_6.86", "25 degC")
    assert board.steps() == ["start"]


def test_pump_runs_then_asks_the_measured_volume_with_its_unit():
    board = FakeBoard()
    person = Person(["9.7", "9.7 bar", "500 mL", "9.7mL"])
    rec = calibrate.pump(person.guide(board), "acid", "10 mL")
    assert person.prompts[0] == ("Put an empty measuring cylinder for 10 mL under the acid "
                                 "pump's outlet, then press Enter: ")
    assert person.said[:3] == [
        "'9.7' has no unit: write it with one, e.g. '9.7 mL'",
        "'9.7 bar' is a pressure, but a volume is wanted (in mL)",
        "'500 mL' is outside 0.001-100 mL, what one run can measure"]
    assert board.sent[0] == {"step": "start", "kind": "acid", "volume": "10 mL"}
    assert board.sent[1] == {"step": "point", "kind": "acid", "measured": "9.7 mL"}
    assert "measured 9.7 mL: 5.200 mL/min" in person.said
    assert rec["kind"] == "ACID"
    words = calibrate.record_words(rec, NOW)
    assert words.startswith("acid: timed run, rate 5.200 mL/min (nominal 5.000, +4.0 %), GOOD")
    with pytest.raises(UsageError, match="no pump 'water'"):
        calibrate.pump(person.guide(board), "water")


def test_records_in_words():
    assert calibrate.record_words(record("BASE", 0), NOW) == (
        "base: not calibrated (the nominal rate)")
    assert calibrate.record_words(record("ORP", 0), NOW) == (
        "orp: not calibrated (the ideal electrode)")
    warn = calibrate.record_words(record("ORP", 1, "WARN", offset=-21.4), NOW)
    assert warn.startswith("orp: 1-point, offset -21.4 mV, WARN (in force, but the electrode")
    # Expiry by whichever clock runs out first: operating hours, or the host's.
    assert calibrate.expiry_words(record("PH", age=700.0), NOW).endswith("expires in 20.0 h")
    old = record("PH", wall_time=NOW - 31 * 86400)
    assert calibrate.expiry_words(old, NOW).endswith("EXPIRED (still in force: calibrate again)")
    assert calibrate.expiry_words(record("PH", expired=1), NOW).endswith("EXPIRED (still in "
                                                                         "force: calibrate "
                                                                         "again)")
    assert calibrate.expiry_words(record("PH", wall_time=0, life=0), NOW) == (
        "taken at an unknown time, never expires")
    three = calibrate.record_words(record("PH", 3, alk_slope=93.1, alk_offset=5.2,
                                          break_ph=4.01), NOW)
    assert "(above pH 4.01: 93.1 %, 5.2 mV)" in three


def test_names_of_standards():
    assert calibrate.buffer_name("7") == "7.00" and calibrate.buffer_name("10.01") == "10.01"
    assert calibrate.orp_standard_name("4.01") == "quinhydrone_4.01"
    assert calibrate.orp_standard_name("Quinhydrone 6.86") == "quinhydrone_6.86"
    with pytest.raises(UsageError, match="no ORP standard 'zobell'"):
        calibrate.orp_standard_name("zobell")


def test_the_standards_are_the_boards(monkeypatch):
    monkeypatch.syspath_prepend(str(FIRMWARE))
    from control import standards

    assert sorted(calibrate.BUFFERS.values()) == sorted(b[0] for b in standards.BUFFERS)
    assert sorted(calibrate.ORP_STANDARDS.values()) == sorted(s[0] for s in
                                                             standards.ORP_STANDARDS)
    for name, ident in calibrate.BUFFERS.items():
        assert standards.buffer_ph(ident, 25.0) == pytest.approx(float(name), abs=0.005)
