"""HIL: dose limits that no command sequence and no reboot breaks (issue 13).

A property-based flood: hypothesis draws sequences of doses, manual pump runs, parameter
changes, reboots, resets, power cuts (some in the middle of the flash write that commits a
dose) and waits, and runs them on the board; the truth trace then says how much acid and
base really went into the vessel, and in no rolling hour or day may that exceed the budget in
force. Hours of board time: the bench runs this test at rigs.FAST_SPEED.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hil import Board, board_seconds, ready, result
from pilotedge.errors import LinkError
from pilotproto import messages as m

HOUR_MS = 3600000
DAY_MS = 24 * HOUR_MS
# The longest a committed run may go on delivering: a 3 mL dose or a manual run's chunk (a
# minute of flow) at the 50 % duty, with room to spare.
RUN_MS = 5 * 60000
PUMPS = {m.OUT_ACID: "acid", m.OUT_BASE: "base"}

DOSE = st.tuples(st.just("dose"), st.sampled_from(list(PUMPS)), st.integers(100, 3000))
MANUAL = st.tuples(st.just("manual"), st.sampled_from(list(PUMPS)), st.integers(5, 240))
WAIT = st.tuples(st.just("wait"), st.just(0), st.integers(1, 1800))
ACTIONS = st.one_of(
    DOSE, DOSE, DOSE, DOSE, DOSE, DOSE, MANUAL, MANUAL, MANUAL, WAIT, WAIT, WAIT,
    st.tuples(st.just("param"), st.sampled_from(["acid_ml_hour", "base_ml_hour"]),
              st.sampled_from([4.0, 8.0])),
    st.tuples(st.just("param"), st.sampled_from(["acid_ml_day", "base_ml_day"]),
              st.sampled_from([4.0, 5.0])),
    st.tuples(st.just("param"), st.just("dose_interval"), st.sampled_from([0, 30, 300])),
    st.tuples(st.just("param"), st.just("dose_max"), st.sampled_from([1.0, 3.0])),
    st.tuples(st.just("param"), st.just("ph_lockout"), st.sampled_from([0, 120])),
    st.tuples(st.just("reboot"), st.just(0), st.just(0)),
    st.tuples(st.just("reset"), st.just(0), st.just(0)),
    st.tuples(st.just("power_cut"), st.just(0), st.integers(0, 1800)),
    st.tuples(st.just("cut_dose"), st.sampled_from(list(PUMPS)), st.integers(1, 600)),
)


class Flood:
    """Carries out actions on the board and keeps the budgets in force, in simulated ms."""

    def __init__(self, rig, board):
        self.rig = rig
        self.board = board
        self.v0 = Board(rig.board).units["v0"]
        self.budgets = {}  # param -> [(from sim ms, value)]

    def set(self, name, value):
        before = self.rig.sim_ms()
        try:
            answer = self.board.param_set(self.v0, name, value)
        except LinkError:  # a cut or a reboot in the way: it may or may not have been set
            answer = None
        after = self.rig.sim_ms()
        changes = self.budgets.get(name)
        if changes is None:
            return
        if not changes:  # the first value, set before any pump ran
            assert answer.result == "OK"
            changes.append((after, value))
            return
        old = changes[-1][1]
        changes.append((before, max(old, value)))  # it may hold from before the answer came
        changes.append((after, value if answer is None or answer.result == "OK" else old))

    def connect(self):
        # After a reboot: the handshake, valid sensors, pH loop in MANUAL (it persists).
        self.board.hello(timeout=2.0, retries=10)
        ready(self.board)

    def command(self, *args):
        try:
            return result(self.board.command(self.v0, *args))
        except LinkError:
            return None

    def do(self, kind, a, b):
        rig, board = self.rig, self.board
        if kind == "dose":
            self.command("DOSE", a, b)
        elif kind == "manual":
            if self.command("SET_OUTPUT", a, 100) == "DONE":
                board_seconds(board, b)
                self.command("SET_OUTPUT", a, 0)
        elif kind == "param":
            self.set(a, b)
        elif kind == "reboot":
            boots = board.hello()["boot_count"]
            hellos = board.listen("HELLO")
            assert result(board.command(Board(rig.board).units["board"], "REBOOT")) == "DONE"
            while hellos.get(timeout=60).fields()["boot_count"] <= boots:
                pass
            self.connect()
        elif kind == "reset":
            rig.reset()
            self.connect()
        elif kind == "power_cut":
            rig.power_cut(b)
            self.connect()
        elif kind == "cut_dose":
            # The power dies in the middle of writing the dose state that commits the dose.
            boots = board.hello()["boot_count"]
            rig.flash_cut(after_bytes=b)
            self.command("DOSE", a, 1000)
            rig.wait_boots(boots + 1)
            self.connect()
        else:
            board_seconds(board, b)

    def budget(self, name, start_ms, end_ms):
        # The largest value of a budget in force at any time within [start_ms, end_ms]
        # (the first one: no pump ran before it was set).
        changes = self.budgets[name]
        values = [v for t, v in changes if start_ms <= t <= end_ms]
        values += [v for t, v in changes if t < start_ms][-1:]
        return max(values or [changes[0][1]])


def worst_windows(t_ms, added_ml, span_ms):
    """For each sample end time t, the volume delivered in (t - span, t]: [(t, ml)]."""
    out = []
    i = 0
    for j in range(len(t_ms)):
        while t_ms[i] < t_ms[j] - span_ms:
            i += 1
        out.append((t_ms[j], added_ml[j] - added_ml[i]))
    return out


@pytest.mark.needs("truth", "power_cut", "flash_cut", "fast_time")
def test_no_sequence_of_doses_params_and_reboots_beats_the_budgets(rig, board):
    flood = Flood(rig, board)
    v0 = flood.v0
    ready(board)
    assert result(board.command(v0, "SET_MODE", m.LOOP_PH, m.MODE_MANUAL)) == "DONE"
    for name, value in (("acid_ml_hour", 4.0), ("base_ml_hour", 4.0), ("acid_ml_day", 5.0),
                        ("base_ml_day", 5.0)):
        flood.budgets[name] = []
        flood.set(name, value)
    flood.set("dose_interval", 0)
    flood.set("ph_lockout", 0)

    @settings(max_examples=5, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(ACTIONS, min_size=25, max_size=25))
    def flood_of(actions):
        for action in actions:
            flood.do(*action)
        fullest.append(check(flood, rig.truth().plant("v0")))

    fullest = []
    flood_of()
    # The flood did drive an hour and a day window to their budgets: it proves something.
    # (The pumps are uncalibrated: the board enforces 5/6 of each budget, units/dosing.py.)
    full = 0.9 * m.UNCAL_BUDGET_SIXTHS / 6
    assert max(hour for hour, _day in fullest) > full and max(d for _h, d in fullest) > full


def check(flood, truth):
    # Returns the fullest an hour and a day window got, as shares of their budgets: a flood
    # that never fills a window would prove nothing.
    t_ms = truth["t_ms"]
    fullest = [0.0, 0.0]
    for reagent in PUMPS.values():
        added = truth[reagent + "_added_ml"]
        for k, (param, span) in enumerate((("_ml_hour", HOUR_MS), ("_ml_day", DAY_MS))):
            for t, ml in worst_windows(t_ms, added, span):
                limit = flood.budget(reagent + param, t - span - RUN_MS, t)
                assert ml <= limit + 1e-6, "%s: %.4f mL in the %s up to %d ms, budget %g" % (
                    reagent, ml, param[4:], t, limit)
                fullest[k] = max(fullest[k], ml / limit)
    return fullest
