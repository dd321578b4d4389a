# pilotedge bench: one simulated board's world - plants, wiring, faults, timeline (MIT).
#
# Built from the board file and the scenario the host hands over: every unit of the board
# gets its plant (sim/vessel.py, sim/canister.py), every sensor entry its physics
# (sim/signals.py) on the chip the board file names (sim/devices.py), every output its pin
# and actuator. The world is the bench's clock source (now_ms, monotonic since the scenario
# started) and advances the plants in fixed steps, lockstep with the firmware's sleeps.
# Faults and disturbances arrive as events - from the scenario timeline at simulated times
# or injected from a test - and go through one handler. A reset or power cut keeps the
# physical world: snapshot() travels to the next process, which restore()s it.

from sim import standards
from sim.ambient import DailyAmbient
from sim.canister import CanisterPlant
from sim.devices import ADS1115, DS18B20, MAX31865, I2CBus, OneWireBus, SimPin, SPIBus
from sim.signals import (
    ELECTRICAL,
    Actuator,
    CurrentLoop,
    Fixed,
    FlowMeter,
    NtcDivider,
    OrpElectrode,
    PhElectrode,
    Ratiometric,
    Rtd,
    Thermometer,
    seed_of,
)
from sim.trace import Trace
from sim.vessel import VesselPlant

# Output faults: event name -> forced share of on-time (None = healthy again).
_FORCED = {
    "pump_stuck_on": 1.0,
    "pump_stuck_off": 0.0,
    "heater_failure": 0.0,
    "valve_stuck_open": 1.0,
    "valve_stuck_closed": 0.0,
    "output_ok": None,
}
# Events the host carries out (serial line, protocol); the world only times them.
HOST_EVENTS = ("serial_noise", "param", "command")
# Events that end this process like the real thing: name -> reset cause name.
EXITS = {"reset": "hard", "power_cut": "power", "flash_cut": "power"}
# Plant attributes worth reporting that are properties, not instance attributes.
_PROPERTIES = ("ph", "orp_mv_agcl", "stored_nl")
# Sensors that can be taken out of the plant and put into a standard (World.apply).
_MOVABLE = (PhElectrode, OrpElectrode, Thermometer, NtcDivider, Rtd)
_TECHNICIAN = ("sensor_to_standard", "sensor_to_vessel", "pump_to_cylinder", "pump_to_vessel")
_DEFAULT_ROM = "28ff000000000001"  # for a DS18B20 entry without a rom (Skip ROM)


class World:
    """plants: {unit name: plant} to use instead of the models (the firmware tests' plant of
    fixed values, tests/firmware/rig.py); the bench builds the models."""

    def __init__(self, board, scenario, seed, plants=None):
        self.now_ms = 0
        self.plant_ms = 0
        # The canister's gas node and its 10 Hz monitor need the bench's base step; the vessel
        # changes over seconds to hours (mixing 30 s, electrode 10 s), so it steps at its own
        # max_step_s of 1 s unless the scenario says otherwise (pumps and heater are still
        # integrated exactly: pins record their on-time whatever the step).
        self.step_ms = scenario.get("step_ms", 100)
        self._vessel_step_ms = scenario.get("vessel_step_ms", 1000)
        if self._vessel_step_ms % self.step_ms:
            raise ValueError("vessel_step_ms must be a multiple of step_ms")
        self._units = []  # (plant, step_ms, its actuators), stepped in this order
        self._traced = []  # (name, kind, plant) in the same order: the trace's plant indexes
        self._seed = seed
        self._scenario = scenario
        self._given = plants or {}
        self.ambient = DailyAmbient(**scenario.get("ambient", {}))
        self.supply = Fixed(scenario.get("supply_mv", 3300.0))
        self.bias = Fixed(self.supply.mv / 2)  # electrode buffers sit at mid-rail [S43]
        self.plants = {}
        self.sensors = {}
        self.actuators = {}
        self.standards = {}  # sensor name -> the Standard it is in, while out of its plant
        self.trace = None  # a sim.trace.Trace while the truth is being recorded
        # Output pins, indexed for the trace: their drivers are pulled to the inactive level
        # until the firmware drives them (boards/README.md: outputs de-energise unpowered).
        # (Lists keep the indexes: MicroPython's dicts do not keep insertion order.)
        self.pins = {}
        self._pin_names = []
        for entry in board["outputs"].values():
            self._pin_names.append(entry["pin"])
            level = 0 if entry["active_high"] else 1
            self.pins[entry["pin"]] = SimPin(self, level, len(self._pin_names) - 1)
        self.adcs = {}
        self.thermometers = {}  # rom hex -> DS18B20
        self.i2c = {name: I2CBus() for name in board["i2c"]}
        self.onewire = {name: OneWireBus() for name in board["onewire"]}
        self.spi = {name: SPIBus() for name in board.get("spi", {})}
        self.rtds = {}  # sensor name -> MAX31865
        for name, adc in board["adc"].items():
            self.adcs[name] = self.i2c[adc["bus"]].devices[adc["addr"]] = ADS1115(self)
        self._board = board
        # A plant per unit, by the unit kinds of the protocol spec the host hands over
        # (scenario["unit_kinds"]: [kind, board-file section]): _vessel(), _canister().
        for kind, section in scenario["unit_kinds"]:
            for unit in board["units"].get(section, ()):
                getattr(self, "_" + kind)(unit)
        for name, values in scenario.get("inputs", {}).items():
            self._set(name, values)
        self._events = scenario.get("events", [])
        for event in self._events:  # fail at power-on, not in the 30th simulated hour
            if event["do"] == "set":
                self._check_inputs(event["target"], event["values"])
            elif event["do"] == "sensor_to_standard":
                self._check_standard(event["target"], event["standard"])
            elif event["do"] in ("pump_to_cylinder", "pump_to_vessel"):
                self._pump(event["target"])
        self._next_event = 0
        self.outbox = []  # host events due, drained by the HAL
        self.exit = None  # (cause name, off_ms, after_bytes) once an exit event fired

    # ---- wiring from the board file ----------------------------------------------------------

    def _params(self, section, name):
        return self._scenario.get(section, {}).get(name, {})

    def _seed_for(self, name):
        return seed_of(name, self._seed)

    def _vessel(self, unit):
        name = unit["name"]
        plant = self.plants[name] = self._given.get(name) or VesselPlant(
            self._params("plant", name))
        ph = unit["ph"]
        self._analog(
            ph,
            PhElectrode(
                self,
                self._seed_for(ph),
                self._params("sensors", ph),
                plant,
                self.bias,
                self.supply.mv,
            ),
        )
        if "orp" in unit:
            orp = unit["orp"]
            params = dict(self._params("sensors", orp))  # the board file's reference, unless
            params.setdefault("reference", unit.get("orp_ref", "agcl_sat"))  # the scenario's
            self._analog(
                orp,
                OrpElectrode(
                    self,
                    self._seed_for(orp),
                    params,
                    plant,
                    self.bias,
                    self.supply.mv,
                ),
            )
        self._thermometer(unit["temp"], plant, "well_c")  # the vessel's sensor sits in a well
        if "temp2" in unit:  # the independent second thermometer, in a well of its own
            self._thermometer(unit["temp2"], plant, "well_c")
        pump = unit["pump_ml_per_min"]
        actuators = []
        for role, attr, scale in (
            ("acid", "acid_ml_per_min", pump),
            ("base", "base_ml_per_min", pump),
            ("heater", "heater_w", unit["heater_w"]),
            ("aeration", "aeration", None),
        ):
            if role in unit:
                actuators.append(self._actuator(unit[role], plant, attr, scale))
        self._units.append((plant, self._vessel_step_ms, actuators))
        self._traced.append((name, "vessel", plant))

    def _canister(self, unit):
        name = unit["name"]
        plant = self.plants[name] = self._given.get(name) or CanisterPlant(
            self._params("plant", name))
        p = unit["pressure"]
        entry = self._board["sensors"][p]
        seed, params = self._seed_for(p), self._params("sensors", p)
        if entry["kind"] == "current_ma":
            self._analog(p, CurrentLoop(self, seed, params, plant, "pressure_bar", entry))
        else:
            self._analog(p, Ratiometric(self, seed, params, plant, "pressure_bar", self.supply,
                                        entry["range_bar"]))
        for role in ("shell", "shell2"):
            if role in unit:
                self._thermometer(unit[role], plant, "shell_c")
        if "ambient" in unit:
            self._thermometer(unit["ambient"], plant, "ambient_c")
        if "flow" in unit:
            f = unit["flow"]
            self._analog(f, FlowMeter(self, self._seed_for(f), self._params("sensors", f), plant,
                                      "port_nl_per_min", self.supply, self._board["sensors"][f]))
        actuators = []
        if "inlet" in unit:
            # The valve's open share of each step: a throttled inlet pulses within steps.
            actuators.append(self._actuator(unit["inlet"], plant, "inlet_open", 1.0))
        self._units.append((plant, self.step_ms, actuators))
        self._traced.append((name, "canister", plant))

    def _analog(self, name, sensor):
        # Put the sensor on its ADS1115 input(s): "0-1" is differential (the negative input
        # carries the electrode bias), "2" single-ended; the supply channel reads the supply.
        entry = self._board["sensors"][name]
        adc = self.adcs[entry["adc"]]
        pins = entry["channel"].split("-")
        adc.inputs[int(pins[0])] = sensor
        if len(pins) == 2:
            adc.inputs[int(pins[1])] = self.bias
        if "supply_channel" in entry:
            adc.inputs[int(entry["supply_channel"])] = self.supply
        self.sensors[name] = sensor

    def _thermometer(self, name, plant, attr):
        entry = self._board["sensors"][name]
        params = self._params("sensors", name)
        if entry["driver"] == "ntc":
            self._analog(
                name,
                NtcDivider(self, self._seed_for(name), params, plant, attr, self.supply, entry),
            )
            return
        if entry["driver"] == "max31865":
            rtd = self.sensors[name] = Rtd(self, self._seed_for(name), params, plant, attr,
                                           entry["r0_ohm"])
            self.rtds[name] = MAX31865(self, entry["r_ref_ohm"], rtd)
            self.spi[entry["bus"]].devices.append((self.pin(entry["cs"]), self.rtds[name]))
            return
        thermo = self.sensors[name] = Thermometer(self, self._seed_for(name), params, plant, attr)
        rom = entry.get("rom", _DEFAULT_ROM)
        device = DS18B20(self, bytes(int(rom[i : i + 2], 16) for i in range(0, 16, 2)), thermo)
        self.onewire[entry["bus"]].devices.append(device)
        self.thermometers[rom] = device

    def _actuator(self, output, plant, attr, scale):
        entry = self._board["outputs"][output]
        if scale is not None and attr.endswith("_ml_per_min"):
            scale *= 1.0 + self._params("outputs", output).get("calibration_error", 0.0)
        a = self.actuators[output] = Actuator(
            self.pin(entry["pin"]), entry["active_high"], plant, attr, scale
        )
        return a

    def pin(self, name):
        """The pin of that name; one that drives no output (a chip select) is pulled up."""
        pin = self.pins.get(name)
        if pin is None:
            pin = self.pins[name] = SimPin(self, 1)
        return pin

    # ---- truth trace -----------------------------------------------------------------------

    def start_trace(self, path, every_ms=1):
        """Record the truth into path (appending) and its legend into path + ".json"; plant
        steps and samples at most once per every_ms."""
        sensors = list(self.sensors)
        for i, name in enumerate(sensors):
            self.sensors[name].trace_id = i
        outputs = self._board["outputs"]
        legend = {
            "version": 1,
            "plants": [
                {"name": name, "kind": kind, "fields": list(plant.TRACE)}
                for name, kind, plant in self._traced
            ],
            "sensors": sensors,
            "pins": self._pin_names,
            "outputs": {name: e["pin"] for name, e in outputs.items()},
        }
        self.trace = Trace(path, legend, every_ms)

    # ---- time ------------------------------------------------------------------------------

    def advance_to(self, target_ms):
        """Step the plants up to target_ms in whole steps; now_ms = target_ms unless an exit
        event fired on the way (then time stops at that step)."""
        # Called once per firmware pass: kept to a few locals and no for loop, because a
        # bigger frame is heap-allocated on every call by the Unix port (a 10x cost here).
        while self.plant_ms + self.step_ms <= target_ms and self.exit is None:
            self._step()
        if self.exit is None:
            self.now_ms = target_ms

    def _step(self):
        end = self.now_ms = self.plant_ms + self.step_ms
        trace = self.trace
        i = 0
        for plant, step, actuators in self._units:
            i += 1
            if end % step:
                continue  # a slower plant: not due on this base step
            for a in actuators:
                a.apply(end, step)
            plant.ambient_c = self.ambient.at(end / 1000.0)
            plant.step(step / 1000.0)
            if trace is not None and end % trace.every_ms == 0:
                trace.plant(i - 1, end, plant, plant.TRACE)
        self.plant_ms = end
        events = self._events
        while self._next_event < len(events) and events[self._next_event]["at_ms"] <= end:
            self._next_event += 1
            self.apply(events[self._next_event - 1])

    # ---- events ----------------------------------------------------------------------------

    def apply(self, event):
        """Carry out one fault or disturbance: {"do": name, "target": ..., arguments}."""
        do = event["do"]
        target = event.get("target")
        if do in HOST_EVENTS:
            self.outbox.append(event)
        elif do in EXITS:
            self.exit = (EXITS[do], int(event.get("off_s", 0) * 1000), event.get("after_bytes"))
        elif do in _FORCED:
            self.actuators[target].forced = _FORCED[do]
        elif do in _TECHNICIAN:
            self._technician(do, target, event)
        elif do.startswith("sensor_"):
            self._sensor_fault(self.sensors[target], do[7:], event)
        elif do == "leak":
            self.plants[target].leak_nml_per_min_at_ref = event["nml_per_min"]
        elif do == "regulator_failure":
            self.plants[target].regulator_failed = True
        elif do == "set":
            self._set(target, event["values"])
        else:
            raise ValueError("unknown event " + do)

    def _technician(self, do, target, event):
        # What a technician does at the bench: standards and the measuring cylinder.
        if do == "sensor_to_standard":
            temp_c = event.get("temp_c")
            if temp_c is None:
                temp_c = self.ambient.at(self.now_ms / 1000.0)  # a bottle at room temperature
            self._put(target, event["standard"], temp_c)
        elif do == "sensor_to_vessel":
            self._put(target)
        elif do == "pump_to_cylinder":
            self._pump(target).cylinder = standards.Cylinder()
        else:
            self._pump(target).cylinder = None

    def _check_standard(self, name, standard):
        sensor = self.sensors[name]
        if not isinstance(sensor, _MOVABLE):
            raise ValueError(name + " cannot be put into a standard")
        if standard not in standards.names():
            raise ValueError("no standard %r (standards: %s)"
                             % (standard, ", ".join(standards.names())))
        if isinstance(sensor, OrpElectrode) and standard not in standards.ORP_STANDARDS:
            raise ValueError("%s is a pH buffer: an ORP electrode needs one of %s"
                             % (standard, ", ".join(standards.ORP_STANDARDS)))
        return sensor

    def _put(self, name, standard=None, temp_c=None):
        # A technician takes a sensor out of its plant and into a standard, or back.
        if standard is None:
            self.sensors[name].move()
            self.standards.pop(name, None)
            return
        sensor = self._check_standard(name, standard)
        beaker = self.standards[name] = standards.Standard(standard, temp_c)
        sensor.move(beaker, None if isinstance(sensor, (PhElectrode, OrpElectrode)) else "temp_c")

    def _pump(self, name):
        actuator = self.actuators[name]
        if not actuator.pumps:
            raise ValueError(name + " is not a pump")
        return actuator

    def _sensor_fault(self, sensor, kind, event):
        if kind in ELECTRICAL:
            sensor.clear()
            sensor.electrical = ELECTRICAL[kind]
        elif kind == "stuck":
            sensor.stuck = event["value"] if "value" in event else sensor.quantity()
        elif kind == "drift":
            sensor.set_drift(event["per_h"])
        elif kind == "noise":
            sensor.noise = event["rms"]
        else:
            raise ValueError("unknown sensor fault " + kind)

    def _check_inputs(self, target, values):
        obj = self.ambient if target == "ambient" else self.plants[target]
        for key in values:
            if not hasattr(obj, key):
                raise ValueError("%s has no input %s" % (target, key))
            for name, a in self.actuators.items():
                if a.drives(obj, key):
                    raise ValueError("%s.%s is driven by output %s: inject an output fault"
                                     % (target, key, name))
        return obj

    def _set(self, target, values):
        _set_attrs(self._check_inputs(target, values), values)

    # ---- state across resets and for the host ----------------------------------------------

    def snapshot(self, powered):
        """Everything physical, JSON-ready. powered: the chips kept their supply (a reset,
        not a power cut), so their registers survive too."""
        devices = None
        if powered:
            devices = {
                "adc": {n: a.state() for n, a in self.adcs.items()},
                "onewire": {r: d.state() for r, d in self.thermometers.items()},
                "spi": {n: d.state() for n, d in self.rtds.items()},
            }
        return {
            "now_ms": self.now_ms,
            "plant_ms": self.plant_ms,
            "next_event": self._next_event,
            "plants": {n: dict(p.__dict__) for n, p in self.plants.items()},
            "ambient": dict(self.ambient.__dict__),
            "sensors": {n: s.state() for n, s in self.sensors.items()},
            "forced": {n: a.forced for n, a in self.actuators.items()},
            "standards": {n: [s.name, s.temp_c] for n, s in self.standards.items()},
            "cylinders": self._cylinders(),
            "devices": devices,
        }

    def _cylinders(self):
        return {n: a.cylinder.ml for n, a in self.actuators.items() if a.cylinder is not None}

    def restore(self, snap):
        self.now_ms = snap["now_ms"]
        self.plant_ms = snap["plant_ms"]
        self._next_event = snap["next_event"]
        for name, attrs in snap["plants"].items():
            _set_attrs(self.plants[name], attrs)
        _set_attrs(self.ambient, snap["ambient"])
        for name, s in snap["sensors"].items():
            self.sensors[name].restore(s, self.now_ms)
        for name, forced in snap["forced"].items():
            self.actuators[name].forced = forced
        for name, (standard, temp_c) in snap["standards"].items():
            self._put(name, standard, temp_c)
        for name, ml in snap["cylinders"].items():
            cylinder = self.actuators[name].cylinder = standards.Cylinder()
            cylinder.ml = ml
        devices = snap["devices"]
        if devices:
            for name, s in devices["adc"].items():
                self.adcs[name].restore(s)
            for rom, s in devices["onewire"].items():
                self.thermometers[rom].restore(s)
            for name, s in devices["spi"].items():
                self.rtds[name].restore(s)

    def truth(self):
        """What is really going on, for tests and the bench console."""
        plants = {}
        for name, plant in self.plants.items():
            values = {}
            for key, value in plant.__dict__.items():
                if key[0] != "_" and isinstance(value, (int, float, bool)):
                    values[key] = value
            for key in _PROPERTIES:
                if hasattr(plant, key):
                    values[key] = getattr(plant, key)
            plants[name] = values
        return {
            "now_ms": self.now_ms,
            "plants": plants,
            "pins": {n: p.value() for n, p in self.pins.items()},
            "sensors": {
                n: {"electrical": s.electrical, "stuck": s.stuck, "drift_per_h": s.drift_per_h}
                for n, s in self.sensors.items()
            },
            "forced": {n: a.forced for n, a in self.actuators.items()},
            "standards": {n: s.name for n, s in self.standards.items()},
            "cylinders": self._cylinders(),
        }


def _set_attrs(obj, values):
    # MicroPython's instance __dict__ is a read-only view: set attribute by attribute.
    for key, value in values.items():
        setattr(obj, key, value)
