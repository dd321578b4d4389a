"""HIL: a board runs through the wrap-arounds of its clocks - the wire's 32-bit millisecond
uptime (49.7 days) and the port's 2**30 ms ticks (12.4 days) - with no fault."""

from itertools import pairwise

import pytest

from hil import board_seconds, next_frame

_WRAP_S = (1 << 32) / 1000  # HEARTBEAT.uptime, u32 milliseconds


def _beats_across(board, seconds):
    """The board's HEARTBEATs over `seconds` of its own time, as field dicts."""
    beats = board.listen("HEARTBEAT")
    first = next_frame(beats, lambda f: True).fields()
    got = [first]
    for _ in range(seconds):
        got.append(next_frame(beats, lambda f: True).fields())
    return got


@pytest.mark.needs("time_preset")
@pytest.mark.preset(uptime_start_ms=(1 << 32) - 60000)
def test_a_board_started_a_minute_before_the_uptime_wrap_runs_through_it(board):
    events = board.listen("EVENT")
    beats = _beats_across(board, 90)
    uptimes = [b["uptime"] for b in beats]
    assert uptimes[0] >= _WRAP_S - 60 and uptimes[-1] < 60  # it was seen crossing the wrap
    # One heartbeat a second all along: the wire value wraps by definition (modulo 2**32).
    steps = {round((b - a) % _WRAP_S, 3) for a, b in pairwise(uptimes)}
    assert steps == {1.0}
    assert {b["state"] for b in beats[2:]} <= {"RUN", "SAFE"}
    faults = [e for e in list(events.queue) if e.fields()["code"] in ("TASK_ERROR", "TX_ERROR")]
    assert faults == []
    assert board_seconds(board, 1)["state"] != "FAULT"


@pytest.mark.needs("time_preset")
@pytest.mark.preset(ticks_start_ms=(1 << 30) - 30000)
def test_a_board_started_before_its_ticks_wrap_runs_through_it(board):
    beats = _beats_across(board, 60)
    steps = {round(b["uptime"] - a["uptime"], 3) for a, b in pairwise(beats)}
    assert steps == {1.0}  # the scheduler kept its 1 s heartbeat across the ticks wrap
    assert "FAULT" not in {b["state"] for b in beats}
