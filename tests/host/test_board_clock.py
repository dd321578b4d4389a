"""The host times a board's link in the board's own heartbeat periods: a bench board at any
speed is not declared lost while it talks, and a silent one is within seconds."""

import pytest

from pilotedge.link import BoardClock


def clock_at(rate, beats=8, period_ms=1000):
    """A BoardClock that heard `beats` heartbeats of a board running `rate` times real time."""
    clock = BoardClock()
    for i in range(beats):
        clock.heartbeat(100.0 + i * period_ms / 1000 / rate, 5000 + i * period_ms)
    return clock


@pytest.mark.parametrize("rate, lost_after_s", [
    (1.0, 5.0),     # a board on a cable: five heartbeats of one second
    (0.5, 10.0),    # a bench slower than real time waits longer
    (2.0, 2.5),
    (600.0, 2.0),   # 8 ms of wall time at 600x: held at the floor, a host pause is no loss
    (2000.0, 2.0),
])
def test_link_loss_is_five_board_heartbeats_never_under_the_floor(rate, lost_after_s):
    clock = clock_at(rate)
    assert clock.rate == pytest.approx(rate)
    assert clock.lost_after_s() == pytest.approx(lost_after_s)


def test_before_two_heartbeats_the_board_is_taken_as_real_time():
    clock = BoardClock()
    assert clock.rate == 1.0 and clock.uptime_s(0.0) is None
    clock.heartbeat(10.0, 5000)
    clock.heartbeat(10.0, 5000)  # a HELLO and a heartbeat with the same uptime
    assert clock.rate == 1.0 and clock.lost_after_s() == 5.0


def test_uptime_estimate_between_heartbeats_and_across_a_reboot():
    clock = clock_at(600.0)
    last_s = 5.0 + 7  # the eighth heartbeat's uptime
    t = 100.0 + 7 / 600
    assert clock.uptime_s(t + 0.001) == pytest.approx(last_s + 0.6)
    assert clock.uptime_s(t + 10.0) == pytest.approx(last_s + 2.0)  # two periods at most
    clock.heartbeat(t + 0.01, 0)  # the uptime went back: a reboot whose HELLO was lost
    assert clock.rate == 1.0 and clock.uptime_s(t + 0.01) == 0.0


def test_uptime_wraps_at_32_bits_of_milliseconds():
    clock = BoardClock()
    clock.heartbeat(0.0, (1 << 32) - 500)
    clock.heartbeat(1.0, 500)  # one board second later, across the wrap
    assert clock.rate == pytest.approx(1.0)
