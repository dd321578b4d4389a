"""Rigs for the hardware-in-the-loop suite: what a test may do to the board under test.

A rig file (tests/hil/rigs/NAME.toml) names the board, its ports and what the rig can
stimulate and read back (its capabilities). A test asks for capabilities with
@pytest.mark.needs(...); the suite skips it, with the reason, on a rig that lacks one. Two
kinds of rig:

- "bench": the virtual bench (pilotedge.bench) runs the real firmware on a simulated board;
  every capability is there, done through the bench API, and each test gets a fresh board.
- "board": a real board on a USB cable. Its capabilities come from the rig's wiring: a rig
  controller (a second MicroPython board, tests/hil/rigctl.py) switches relays on sensor
  lines, drives a DAC or reads an output back; the rig file maps each capability to the
  Python call the controller's REPL runs (see the rig files for the wiring they assume).

Capabilities:
    sensor_fault     open, short or freeze a sensor's signal          rig.sensor_fault()
    pressure_source  raise a canister's pressure past its trip        rig.overpressure()
    output_readback  see whether an output is energised               rig.output_active()
    truth            what the plant really did (bench truth trace)    rig.truth()
    flash_cut        cut the power in the middle of a flash write     rig.flash_cut()
    line_noise       corrupt bytes on the board-to-host line          rig.line_noise()
    time_preset      start the board as if it had been up a long time  @pytest.mark.preset
  vessel measurement and safety (issue 13):
    power_cut        cut the board's power, press its reset button    rig.power_cut(), reset()
    fast_time        hours of board time in minutes (the bench at FAST_SPEED, or a
                     @pytest.mark.preset(speed=)); its plants in finer steps
                     (preset step_ms=), its truth trace thinned (preset trace_ms=)
    sensor_drift     freeze a sensor's signal or make it drift        rig.sensor_fault(s, kind)
    buffer_station   put an electrode into a standard and back        rig.to_standard(), ...
    cylinder         a measuring cylinder under a pump's outlet       rig.pump_to_cylinder(), ...
  canister monitor (issue 15):
    canister_plant   heat, fill or leak the canister, fail its regulator  rig.canister()
  vessel control (issue 14):
    process_load     change the process: gangue, pyrite (bench only)  rig.process(unit, **values)
"""

import dataclasses
import tomllib
from pathlib import Path

from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from hil import Board
from pilotedge import deploy
from pilotedge.bench import Bench
from pilotedge.bench.scenario import load as load_scenario

RIGS = Path(__file__).resolve().parent / "rigs"
CAPABILITIES = ("sensor_fault", "pressure_source", "output_readback", "truth", "flash_cut",
                "line_noise", "time_preset")
# Vessel measurement and safety (issue 13).
CAPABILITIES += ("power_cut", "fast_time", "sensor_drift", "buffer_station", "cylinder")
# Canister monitor (issue 15).
CAPABILITIES += ("canister_plant",)
CAPABILITIES += ("process_load",)  # vessel control (issue 14)
FAST_SPEED = 600  # simulated seconds per second for a test that needs fast_time
# The rig controller calls a real rig needs for each capability it claims (None: the bench
# alone can do it).
CALLS = {
    "sensor_fault": ("sensor_open", "sensor_short", "sensor_ok"),
    "pressure_source": ("overpressure",),
    "output_readback": ("output_readback",),
    "truth": None,
    "flash_cut": None,
    "line_noise": None,
    "time_preset": None,
    # Vessel measurement and safety (issue 13).
    "power_cut": ("power_cut", "reset"),
    "fast_time": None,
    "sensor_drift": ("sensor_stuck", "sensor_drift", "sensor_ok"),
    "buffer_station": ("to_standard", "to_vessel"),
    "cylinder": ("pump_to_cylinder", "cylinder_ml", "pump_to_vessel"),
    # Canister monitor (issue 15).
    "canister_plant": None,
    "process_load": None,  # vessel control (issue 14)
}


class RigError(Exception):
    """A rig file that does not describe a rig, or a rig that does not answer."""


def load(path):
    """The rig file at path, checked: {"name", "kind", "board", "capabilities", ...}."""
    path = Path(path)
    try:
        rig = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RigError("rig file %s: %s" % (path, e))
    for key in ("name", "kind", "board"):
        if key not in rig:
            raise RigError("rig file %s: no %s" % (path, key))
    if rig["kind"] not in ("bench", "board"):
        raise RigError("rig file %s: kind is bench or board, not %r" % (path, rig["kind"]))
    unknown = set(rig.get("capabilities", ())) - set(CAPABILITIES)
    if unknown:
        raise RigError("rig file %s: unknown capabilities %s (known: %s)"
                       % (path, ", ".join(sorted(unknown)), ", ".join(CAPABILITIES)))
    if rig["kind"] == "board":
        for capability in rig.get("capabilities", ()):
            calls = CALLS[capability]
            if calls is None:
                raise RigError("rig file %s: only the bench can do %s" % (path, capability))
            missing = [c for c in calls if c not in rig.get("calls", {})]
            if missing or "controller" not in rig:
                raise RigError("rig file %s: %s needs a [controller] and the calls %s"
                               % (path, capability, ", ".join(calls)))
    rig["file"] = path
    return rig


class Rig:
    """What both kinds share: the rig file, the board's ports, the capability check."""

    def __init__(self, spec):
        self.spec = spec
        self.name = spec["name"]
        self.board = spec["board"]
        self.capabilities = set(spec.get("capabilities", ()))

    def lacks(self, needed):
        """The capabilities of `needed` this rig lacks."""
        return [c for c in needed if c not in self.capabilities]


class BenchRig(Rig):
    """The virtual bench: a fresh simulated board per test, every capability."""

    def __init__(self, spec, workdir, speed=None, **presets):
        # presets: Bench time presets (ticks_start_ms, uptime_start_ms) and the speed, plant
        # step and trace thinning a test asked for; speed: the bench's for a fast_time test.
        Rig.__init__(self, spec)
        self.capabilities = set(CAPABILITIES)
        scenario = Path(spec["file"]).parent / spec["scenario"]
        # deploy = "mpremote": each board starts with a bare flash and gets the firmware by
        # `pilotedge deploy` through its REPL, as a board on a rig does before its suite.
        mpremote = spec.get("deploy") == "mpremote"
        speed = speed or spec.get("speed", 20)
        scenario = load_scenario(scenario)
        if "step_ms" in presets:  # finer plant steps: a trip's latency measured to them
            scenario = dataclasses.replace(
                scenario, board_json=dict(scenario.board_json, step_ms=presets.pop("step_ms")))
        self.boot_ms = 0  # simulated time of the board's last power-on: its uptime's origin
        trace = presets.pop("trace_ms", True)  # a long test's truth: a step a second
        self.bench = Bench(scenario, speed=speed, workdir=workdir, fresh=True, trace=trace,
                           deploy=not mpremote, on_event=self._on_event, **presets)
        self.bench.start()
        board = self.bench.boards[0]
        self.protocol_port = board.protocol_port
        self.repl_port = board.repl_port
        if mpremote:
            deploy.deploy(self.board, self.repl_port, self.protocol_port)

    def close(self):
        self.bench.stop()

    def _on_event(self, board, event):
        if event["event"] == "boot":
            self.boot_ms = event["now_ms"]

    def sensor_fault(self, sensor, kind, **args):
        """kind: "open", "short", "stuck", "drift" (per_h) or "ok"."""
        self.bench.inject(0, "sensor_" + kind, target=sensor, **args)

    def overpressure(self, canister):
        """The charging regulator fails high and the inlet valve sticks open: the pressure
        climbs towards the failed regulator's 32 bar whatever the firmware does."""
        self.bench.inject(0, "regulator_failure", target=canister)
        inlet = Board(self.board).part(canister, "inlet")
        self.bench.inject(0, "valve_stuck_open", target=inlet)

    def output_active(self, output):
        pin = self.bench.scenario.board["outputs"][output]
        level = self.bench.state(0)["pins"][pin["pin"]]
        return level == (1 if pin["active_high"] else 0)

    def truth(self):
        return self.bench.trace(0)

    # -- the canister's plant (canister_plant): what a test does to the gas and the room ----

    def canister(self, canister, room_c=None, regulator_failure=False, leak_nml_per_min=None,
                 **state):
        """The room at room_c, the supply regulator failed high, a leak (NmL/min at the
        plant's reference pressure), or the plant's state set (soc=...)."""
        if room_c is not None:
            self.bench.inject(0, "set", target="ambient",
                              values={"mean_c": room_c, "swing_k": 0.0})
        if regulator_failure:
            self.bench.inject(0, "regulator_failure", target=canister)
        if leak_nml_per_min is not None:
            self.bench.inject(0, "leak", target=canister, nml_per_min=leak_nml_per_min)
        if state:
            self.bench.inject(0, "set", target=canister, values=state)

    def plant(self, canister):
        """The canister plant's state now (pressure_bar, shell_c, soc, ...)."""
        return self.bench.state(0)["plants"][canister]

    def sim_ms_at(self, uptime_s):
        """The simulated time (truth trace ms) of a board uptime (s, an EVENT's stamp)."""
        return self.boot_ms + uptime_s * 1000.0

    def sim_ms(self):
        return self.bench.state(0)["now_ms"]

    def flash_cut(self, after_bytes):
        self.bench.inject(0, "flash_cut", after_bytes=after_bytes)

    def line_noise(self, **probabilities):
        self.bench.inject(0, "serial_noise", direction="to_host", **probabilities)

    def wait_boots(self, count, timeout=60.0):
        self.bench.boards[0].wait_boots(count, timeout)

    # Vessel measurement and safety (issue 13).

    def power_cut(self, off_s):
        self.bench.power_cut(0, off_s)

    def reset(self):
        self.bench.reset(0)

    def to_standard(self, sensor, standard, temp_c):
        self.bench.to_standard(0, sensor, standard, temp_c)

    def to_vessel(self, sensor):
        self.bench.to_vessel(0, sensor)

    def pump_to_cylinder(self, output):
        self.bench.pump_to_cylinder(0, output)

    def cylinder_ml(self, output):
        return self.bench.cylinder_ml(0, output)

    def pump_to_vessel(self, output):
        return self.bench.pump_to_vessel(0, output)

    def process(self, unit, **values):
        # Vessel control (issue 14): set the plant's state, e.g. carbonate_mol=0.2.
        self.bench.inject(0, "set", target=unit, values=values)


class BoardRig(Rig):
    """A real board on a USB cable, with what its rig controller is wired to do.

    The rig file's [ports] give the board's protocol and REPL ports (--port overrides the
    protocol port, and the REPL port too when they are the same, as on USB-stdio boards);
    [controller] the rig controller's port; [calls] the controller call of each
    capability, with {sensor}, {output}, {canister} filled in.
    """

    def __init__(self, spec, port=None, repl_port=None):
        Rig.__init__(self, spec)
        ports = spec.get("ports", {})
        self.protocol_port = port or ports.get("protocol")
        self.repl_port = repl_port or ports.get("repl", self.protocol_port)
        if self.protocol_port is None:
            raise RigError("rig %s: give the board's port with --port" % self.name)
        self._calls = spec.get("calls", {})
        self._controller = None
        controller = spec.get("controller")
        if controller:
            try:
                self._controller = SerialTransport(controller["port"], baudrate=115200)
                self._controller.enter_raw_repl(soft_reset=False)
                self._controller.exec(controller.get("setup", "import rigctl"))
            except (TransportError, OSError) as e:
                raise RigError("rig %s: the rig controller at %s does not answer: %s"
                               % (self.name, controller["port"], e))

    def close(self):
        if self._controller is not None:
            self._controller.exit_raw_repl()
            self._controller.close()

    def call(self, capability, **names):
        """Run the controller call the rig file gives for a capability; its printed result."""
        template = self._calls.get(capability)
        if template is None or self._controller is None:
            raise RigError("rig %s has no controller call for %s" % (self.name, capability))
        return self._controller.eval(template.format(**names))

    def sensor_fault(self, sensor, kind, **args):
        self.call("sensor_" + kind, sensor=sensor, **args)

    def overpressure(self, canister):
        self.call("overpressure", canister=canister)

    def output_active(self, output):
        return bool(self.call("output_readback", output=output))

    def wait_boots(self, count, timeout=60.0):
        pass  # a real board's boots show only in its HELLO, which the tests wait for

    # Vessel measurement and safety (issue 13): a relay on the board's supply and on its EN
    # line, a DAC in series with a sensor signal, a buffer station, a cylinder on a scale.

    def power_cut(self, off_s):
        self.call("power_cut", off_s=off_s)

    def reset(self):
        self.call("reset")

    def to_standard(self, sensor, standard, temp_c):
        self.call("to_standard", sensor=sensor, standard=standard, temp_c=temp_c)

    def to_vessel(self, sensor):
        self.call("to_vessel", sensor=sensor)

    def pump_to_cylinder(self, output):
        self.call("pump_to_cylinder", output=output)

    def cylinder_ml(self, output):
        return float(self.call("cylinder_ml", output=output))

    def pump_to_vessel(self, output):
        return float(self.call("pump_to_vessel", output=output))
