"""Bench: several simulated boards running one scenario, and the fault-injection API."""

import dataclasses
import os
import shutil
import time
from pathlib import Path

from .. import resources
from ..errors import BenchError, UsageError
from .board import DEFAULT_HEAP, SimBoard
from .scenario import HOST_EVENTS, BoardNames, Scenario, check_event, load
from .trace import Trace


class Bench:
    """Boards named <board id><n> (sim0, sim1, ...), each with its own flash folder under
    workdir (default run/bench/<scenario name> under the current folder; kept between runs
    like a board's flash unless fresh=True) and its own endpoints. scenario: a Scenario, a
    TOML file or the name of a shipped scenario.

    speed: simulated seconds per real second (0 = as fast as the host can). seed: overrides
    the scenario's; board n uses seed + 7919·n. on_event(board, event) sees every event a
    board reports (boot, exit, host) on the board's control thread: it must not block.
    trace: record each board's truth trace (trace()): True for every plant step and sample,
    or a number of ms: each at most that often (pin edges always). deploy: put the firmware
    onto each board's flash before it starts (False: boot what the flash holds). ticks_start_ms,
    uptime_start_ms: time presets, overriding the scenario's (where the firmware's ticks and
    uptime start at each power-on, e.g. a minute before a wrap).
    """

    def __init__(self, scenario, boards=1, speed=1.0, workdir=None, seed=None, heap=DEFAULT_HEAP,
                 fresh=False, on_event=None, trace=False, deploy=True, ticks_start_ms=None,
                 uptime_start_ms=None):
        self.scenario = scenario if isinstance(scenario, Scenario) else load(scenario)
        presets = {k: v for k, v in (("ticks_start_ms", ticks_start_ms),
                                     ("uptime_start_ms", uptime_start_ms)) if v is not None}
        if presets:
            self.scenario = dataclasses.replace(
                self.scenario, board_json=dict(self.scenario.board_json, **presets))
        self._names = BoardNames(self.scenario.board)
        workdir = workdir or resources.output_dir() / "bench" / self.scenario.name
        self.workdir = Path(workdir).absolute()  # board processes run in their flash folders
        self._count = boards
        self._speed = speed
        self._seed = seed
        self._heap = heap
        self._fresh = fresh
        self._on_event = on_event
        self._trace = trace
        self._deploy = deploy
        self.boards = []

    def start(self):
        """Start every board and wait until each has booted; returns the boards."""
        if self._count < 1:
            raise BenchError("a bench needs at least one board")
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.workdir, os.W_OK | os.X_OK):
                raise PermissionError("not writable")
        except OSError as exc:
            raise UsageError("cannot use %s as the bench's work folder: %s"
                             % (self.workdir, exc.strerror or exc)) from None
        prefix = self.scenario.board["board"]
        try:
            for i in range(self._count):
                name = "%s%d" % (prefix, i)
                if self._fresh:
                    shutil.rmtree(self.workdir / name, ignore_errors=True)
                board = SimBoard(name, i, self.scenario, self.workdir, self._speed, self._heap,
                                 self._seed, self._on_event, self._trace, self._deploy)
                self.boards.append(board)
                board.start()
            for board in self.boards:
                board.wait_boots(1)
        except BaseException:
            self.stop()
            raise
        return self.boards

    def stop(self):
        for board in self.boards:
            board.stop()
        self.boards = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def board(self, which):
        """A board by index or by name."""
        if isinstance(which, SimBoard):
            return which
        for i, board in enumerate(self.boards):
            if which in (i, board.name):
                return board
        raise BenchError("no board %r (boards: %s)"
                         % (which, ", ".join(b.name for b in self.boards)))

    def inject(self, which, do, target=None, **args):
        """Inject a fault or disturbance now, e.g. inject(0, "sensor_open", target="v0_ph").

        Events and their arguments are those of a scenario timeline (scenario.EVENTS);
        ScenarioError when one does not fit the board. "reset" and "power_cut" return at
        once: use reset() / power_cut() to wait for the board to come back.
        """
        event = {"do": do, **args}
        if target is not None:
            event["target"] = target
        event = check_event(self._names, event)
        board = self.board(which)
        if do in HOST_EVENTS:
            board.host_action(event)
        else:
            board.request("inject", event=event)

    def state(self, which):
        """The board's physical truth: now_ms, plants (inputs, state, outputs), pins,
        sensor faults, forced outputs, and whether its firmware is running."""
        return self.board(which).request("state")["state"]

    def trace(self, which):
        """The board's truth trace so far (pilotedge.bench.trace.Trace); the bench must have
        been started with trace=True."""
        board = self.board(which)
        if board.trace_path is None:
            raise BenchError("board %s records no trace: start the bench with trace=True"
                             % board.name)
        board.request("trace_flush")
        return Trace.read(board.trace_path)

    # -- what a technician does at the bench ----------------------------------------------

    def to_standard(self, which, sensor, standard, temp_c=None):
        """Take a sensor out of its vessel and put it into a standard: a pH buffer ("1.68",
        "4.01", "6.86", "7.00", "9.18", "10.01") or an ORP standard ("quinhydrone_4.01",
        "quinhydrone_6.86"), at temp_c (default: room temperature); a thermometer can go in
        too. The sensor follows with its own lag and noise."""
        args = {} if temp_c is None else {"temp_c": temp_c}
        self.inject(which, "sensor_to_standard", target=sensor, standard=standard, **args)

    def to_vessel(self, which, sensor):
        """Put a sensor back into its vessel (or canister)."""
        self.inject(which, "sensor_to_vessel", target=sensor)

    def pump_to_cylinder(self, which, output):
        """Put an empty measuring cylinder under a pump's outlet: what the pump delivers
        goes there instead of into the vessel."""
        self.inject(which, "pump_to_cylinder", target=output)

    def cylinder_ml(self, which, output):
        """The volume in a pump's cylinder, as a technician reads it off the graduation."""
        cylinders = self.state(which)["cylinders"]
        if output not in cylinders:
            raise BenchError("%s has no cylinder under it: pump_to_cylinder first" % output)
        return cylinders[output]

    def pump_to_vessel(self, which, output):
        """Take the cylinder away: the pump doses the vessel again. Returns its volume."""
        ml = self.cylinder_ml(which, output)
        self.inject(which, "pump_to_vessel", target=output)
        return ml

    def reset(self, which, timeout=30.0):
        """Press the reset button (reset cause HARD) and wait for the board to start again."""
        self._restart(which, "reset", timeout)

    def power_cut(self, which, off_s=0.0, timeout=30.0):
        """Cut the power for off_s simulated seconds (cause POWER_ON at the next start);
        the plants keep running meanwhile, with every output de-energised."""
        self._restart(which, "power_cut", timeout, off_s=off_s)

    def _restart(self, which, do, timeout, **args):
        board = self.board(which)
        boots = board.boots
        self.inject(board, do, **args)
        board.wait_boots(boots + 1, timeout)

    def wait_sim(self, which, sim_s, timeout=60.0):
        """Block until the board's simulated time reaches sim_s; returns its state then."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(which)
            if state["now_ms"] >= sim_s * 1000:
                return state
            if time.monotonic() > deadline:
                raise BenchError("board %s: simulated time %.1f s after %.0f s, waiting for %g"
                                 % (self.board(which).name, state["now_ms"] / 1000, timeout,
                                    sim_s))
            time.sleep(0.02)
