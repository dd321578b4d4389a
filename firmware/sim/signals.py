# pilotedge bench: sensor and actuator physics as the firmware's front end sees them (MIT).
#
# A Sensor turns a plant quantity (pH, degC, bar) into what its wire carries: the quantity
# passes a first-order lag, gets an offset, slow drift and noise, can be stuck, and is then
# converted by the transducer (electrode mV, NTC divider, 10-90 % ratiometric output) into
# the level a chip emulation in sim/devices.py samples. Open and short are electrical faults:
# each transducer says which level its wire then shows. An Actuator turns the on-time of an
# output pin into a plant input (pump flow, heater power, valve state).
#
# Everything is evaluated lazily, when a chip samples or the world steps, so an idle sensor
# costs nothing. Time is the sim clock's monotonic now_ms; noise comes from a seeded
# xorshift32 per sensor so a run is repeatable whatever MicroPython's `random` does.

import math

from sim import standards
from sim.common import const

KELVIN = 273.15
NAN = float("nan")
NERNST_MV_PER_K = 0.198421  # ln(10)·R/F per pH unit [S28]
NOISE_BAR = 0.003  # a pressure transducer's own noise, rms: 0.0075 % of 40 bar (assumption)
_MS_PER_H = 3600000.0
_IH4 = 1.0 / math.sqrt(4 * (256 * 256 - 1) / 12.0)  # 1 / sd of the sum of 4 uniform bytes

OK = const(0)
OPEN = const(1)
SHORT = const(2)
ELECTRICAL = {"ok": OK, "open": OPEN, "short": SHORT}


class Prng:
    """xorshift32: small, fast on small ints, and the same sequence on every interpreter."""

    def __init__(self, seed):
        self.state = (seed & 0xFFFFFFFF) or 0x9E3779B9

    def u32(self):
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def gauss(self):
        # Standard normal, approximately: the sum of the four bytes of one draw (Irwin-Hall,
        # n = 4) scaled to unit variance. Bounded at ±3.5 sigma, which sensor noise may be,
        # and several times cheaper than Box-Muller's log, sqrt and cos.
        x = self.u32()
        return ((x & 255) + (x >> 8 & 255) + (x >> 16 & 255) + (x >> 24) - 510.0) * _IH4


def seed_of(text, base):
    """Stable 32-bit seed for a named sensor: FNV-1a of its name mixed with the run seed."""
    h = 0x811C9DC5 ^ (base & 0xFFFFFFFF)
    for c in text:
        h = ((h ^ ord(c)) * 0x01000193) & 0xFFFFFFFF
    return h


class Sensor:
    """Base: lag, offset, drift, noise and stuck on the quantity; open/short on the wire.

    The true quantity is getattr(src, attr) of a plant. params (all optional, in the
    quantity's own unit): tau_s, offset, noise (rms), drift_per_h. Subclasses convert the
    quantity to the level on the wire (_wire) and give the levels of an open and a shorted
    sensor.
    """

    def __init__(self, clock, seed, params, src, attr):
        self._clock = clock
        self._src = src
        self._attr = attr
        self._home = (src, attr)  # where the sensor is fitted (move() takes it elsewhere)
        self.sensed = NAN  # the quantity the transducer converted last (NaN: open or short)
        self.trace_id = None  # index in the truth trace, when one is recorded
        self.prng = Prng(seed)
        self.tau_s = params.get("tau_s", 0.0)
        self.offset = params.get("offset", 0.0)
        self.noise = params.get("noise", 0.0)
        self.drift_per_h = params.get("drift_per_h", 0.0)
        self.electrical = OK
        self.stuck = None  # quantity held while stuck
        self._drift = 0.0  # drift accumulated before _drift_ms
        self._drift_ms = clock.now_ms
        self._lagged = None
        self._lag_ms = 0

    def _true(self):
        return getattr(self._src, self._attr)

    def true(self):
        """The true quantity where the sensor is, before lag, offset, drift and noise."""
        return self._true()

    def move(self, src=None, attr=None):
        """Put the sensor into src (a sim.standards.Standard: attr is the quantity there), or
        back where it is fitted (no src); its lag carries on from what it last saw."""
        self._src, self._attr = (src, attr) if src is not None else self._home

    @property
    def moved(self):
        return self._src is not self._home[0]

    def quantity(self):
        """The quantity the transducer converts now (lagged, offset, drifted, noisy)."""
        # Runs for every conversion of every chip: terms that are zero are skipped.
        if self.stuck is not None:
            return self.stuck
        q = self._true()
        if self.tau_s > 0.0:
            q = self._lag(q)
        q += self.offset + self._drift
        if self.drift_per_h:
            q += self.drift_per_h * (self._clock.now_ms - self._drift_ms) / _MS_PER_H
        if self.noise:
            q += self.noise * self.prng.gauss()
        self.sensed = q
        return q

    def _lag(self, x):
        # First-order lag, exact for the time since the last sample (input held meanwhile).
        now = self._clock.now_ms
        y = self._lagged
        if y is not None:
            x = y + (x - y) * (1.0 - math.exp((self._lag_ms - now) / (1000.0 * self.tau_s)))
        self._lagged = x
        self._lag_ms = now
        return x

    def level(self):
        """What the wire carries now: mV at an ADC input, or degC inside a DS18B20."""
        if self.electrical == OK:
            return self._wire(self.quantity())
        self.sensed = NAN
        return self._open_level() if self.electrical == OPEN else self._short_level()

    def _open_level(self):
        # What the wire of an open sensor shows; each transducer says (a DS18B20 instead
        # drops off its bus, which devices.DS18B20 sees in `electrical`).
        return NAN

    def _short_level(self):
        return NAN

    def set_drift(self, per_h):
        # Fold what has drifted so far, then continue at the new rate.
        now = self._clock.now_ms
        self._drift += self.drift_per_h * (now - self._drift_ms) / _MS_PER_H
        self._drift_ms = now
        self.drift_per_h = per_h

    def clear(self):
        """Back to a healthy sensor; drift already accumulated stays (it is aging)."""
        self.electrical = OK
        self.stuck = None

    def state(self):
        return [
            self.prng.state,
            self.electrical,
            self.stuck,
            self._drift,
            self.drift_per_h,
            self._lagged,
        ]

    def restore(self, s, now_ms):
        self.prng.state, self.electrical, self.stuck, self._drift, self.drift_per_h = s[:5]
        self._lagged = s[5]
        self._drift_ms = self._lag_ms = now_ms

    def _wire(self, q):
        return q


class Fixed:
    """A constant node voltage: electrode bias, or the supply of a ratiometric divider."""

    trace_id = None  # a node, not a sensor: not in the trace

    def __init__(self, mv):
        self.mv = mv

    def level(self):
        return self.mv


class Electrode(Sensor):
    """Electrode on a level-shifting buffer: the wire carries bias + electrode mV.

    The base of the pH and ORP electrodes (an ORP electrode is healthy within ±15 mV of
    offset [S48]). An open input drives the buffer to the rail; a short reads 0 mV.
    """

    def __init__(self, clock, seed, params, src, attr, bias, rail_mv):
        Sensor.__init__(self, clock, seed, params, src, attr)
        self._bias = bias
        self._rail_mv = rail_mv

    def _wire(self, q):
        return self._bias.mv + q

    def _open_level(self):
        return self._rail_mv

    def _short_level(self):
        return self._bias.mv


class OrpElectrode(Electrode):
    """Pt against its own reference electrode: E_SHE of the solution − E_ref(T), in mV.

    reference: a sim.standards.REFERENCES kind (default "agcl_sat", saturated KCl); the
    reference potential follows the solution's temperature [S50][S51].
    """

    def __init__(self, clock, seed, params, src, bias, rail_mv):
        Electrode.__init__(self, clock, seed, params, src, "orp_mv_she", bias, rail_mv)
        self.reference = params.get("reference", "agcl_sat")
        standards.reference_mv(self.reference, 25.0)  # an unknown kind fails at power-on

    def _true(self):
        p = self._src
        return p.orp_mv_she - standards.reference_mv(self.reference, p.temp_c)


class PhElectrode(Electrode):
    """Glass electrode: slope(T)·(7 − pH) + offset, in mV.

    Slope = 0.198421 mV/K·T·slope_pct/100 [S27][S28], isopotential point pH 7 [S27], offset
    (asymmetry) ±30 mV acceptable [S31], τ ≈ 10 s, noise 0.1-0.5 mV, E0 drift 0.5-2 mV/week
    (docs/references.md §2.4, §6): lag, drift and noise act on the electrode mV. A short reads
    0 mV, which is pH 7 and looks plausible.
    """

    def __init__(self, clock, seed, params, plant, bias, rail_mv):
        Electrode.__init__(self, clock, seed, params, plant, "ph", bias, rail_mv)
        self.slope_pct = params.get("slope_pct", 100.0)

    def _true(self):
        p = self._src
        slope = NERNST_MV_PER_K * (p.temp_c + KELVIN) * self.slope_pct / 100.0
        return slope * (7.0 - p.ph)


class NtcDivider(Sensor):
    """NTC thermistor in a divider on the supply, beta model [S62c]; quantity in degC.

    side "low": supply - R_series - node - NTC - ground (the board file's default), "high":
    supply - NTC - node - R_series - ground [S62a]. An open NTC pulls the node to its far end.
    """

    def __init__(self, clock, seed, params, src, attr, supply, entry):
        Sensor.__init__(self, clock, seed, params, src, attr)
        self._supply = supply
        self._rs = entry["r_series_ohm"]
        self._r0 = entry["r0_ohm"]
        self._beta = entry["beta_k"]
        self._low = entry.get("ntc_side", "low") == "low"

    def _wire(self, q):
        r = self._r0 * math.exp(self._beta * (1.0 / (q + KELVIN) - 1.0 / 298.15))
        share = r if self._low else self._rs
        return self._supply.mv * share / (self._rs + r)

    def _open_level(self):
        return self._supply.mv if self._low else 0.0

    def _short_level(self):
        return 0.0 if self._low else self._supply.mv


class Ratiometric(Sensor):
    """Pressure transducer, 10-90 % of supply over range_bar [S81][S82], quantity in bar.

    Its output stage clamps at 4 % / 96 % [S81b]; a broken signal wire reads 0 V (pull-down),
    a short to the supply reads 100 %. gauge = True subtracts 1 atm from the plant's
    absolute pressure (a sealed-gauge part); the default is an absolute transducer. Unless
    the scenario says otherwise it has the noise of a real transducer and its front end
    (NOISE_BAR rms, a few ADC codes): a reading that never moves is a stuck sensor.
    """

    def __init__(self, clock, seed, params, src, attr, supply, range_bar):
        Sensor.__init__(self, clock, seed, params, src, attr)
        self.noise = params.get("noise", NOISE_BAR)
        self._supply = supply
        self._lo = range_bar[0]
        self._span = range_bar[1] - range_bar[0]
        self._gauge_bar = 1.01325 if params.get("gauge", False) else 0.0

    def _true(self):
        return getattr(self._src, self._attr) - self._gauge_bar

    def _wire(self, q):
        r = 0.1 + 0.8 * (q - self._lo) / self._span
        return self._supply.mv * min(0.96, max(0.04, r))

    def _open_level(self):
        return 0.0

    def _short_level(self):
        return self._supply.mv


class CurrentLoop(Sensor):
    """A 4-20 mA pressure transmitter into a shunt, quantity in bar, wire in mV [S80].

    4 / 20 mA at the ends of range_bar; its output stage holds the NAMUR NE43 measuring band
    3.8-20.5 mA. An open loop carries no current (0 mV), a shorted one what the loop supply
    drives through the shunt (taken as 25 mA). Noise as Ratiometric's.
    """

    def __init__(self, clock, seed, params, src, attr, entry):
        Sensor.__init__(self, clock, seed, params, src, attr)
        self.noise = params.get("noise", NOISE_BAR)
        self._lo, hi = entry["range_bar"]
        self._ma_per_bar = 16.0 / (hi - self._lo)
        self._shunt_ohm = entry["shunt_ohm"]

    def _wire(self, q):
        ma = 4.0 + (q - self._lo) * self._ma_per_bar
        return min(20.5, max(3.8, ma)) * self._shunt_ohm

    def _open_level(self):
        return 0.0

    def _short_level(self):
        return 25.0 * self._shunt_ohm


class FlowMeter(Sensor):
    """A thermal mass-flow meter on the canister's line, quantity in NL/min (+ inwards).

    Its output is linear over range_nl_per_min and reaches the ADC as out_mv (its 0-5 V
    through a divider); it saturates at the ends. params: gain_error (fraction of reading,
    the meter's accuracy), offset and drift_per_h (its zero and zero drift, NL/min), noise,
    tau_s (its response) [S120]. An open signal wire reads 0 V, a short to the 3.3 V rail
    reads the rail: both outside the span the divided output can reach.
    """

    def __init__(self, clock, seed, params, src, attr, supply, entry):
        Sensor.__init__(self, clock, seed, params, src, attr)
        self.gain = 1.0 + params.get("gain_error", 0.0)
        self._supply = supply
        self._lo, self._hi = entry["range_nl_per_min"]
        self._mv = entry["out_mv"]

    def true(self):
        return getattr(self._src, self._attr)

    def _true(self):
        return getattr(self._src, self._attr) * self.gain

    def _wire(self, q):
        q = min(self._hi, max(self._lo, q))
        lo_mv, hi_mv = self._mv
        return lo_mv + (q - self._lo) * (hi_mv - lo_mv) / (self._hi - self._lo)

    def _open_level(self):
        return 0.0

    def _short_level(self):
        return self._supply.mv


class Rtd(Sensor):
    """A platinum RTD (PT100, PT1000) at a MAX31865's input; quantity in degC, wire in ohm.

    R(t) by the IEC 60751 Callendar-Van Dusen equation [S59][S60] (the C term below 0 degC).
    An open RTD reads as an open circuit (the converter sees full scale), a short as 0 ohm.
    """

    def __init__(self, clock, seed, params, src, attr, r0_ohm):
        Sensor.__init__(self, clock, seed, params, src, attr)
        self._r0_ohm = r0_ohm

    def _wire(self, q):
        r = 1.0 + 3.9083e-3 * q - 5.775e-7 * q * q
        if q < 0.0:
            r -= 4.183e-12 * (q - 100.0) * q * q * q
        return self._r0_ohm * r

    def _open_level(self):
        return 1e9

    def _short_level(self):
        return 0.0


class Thermometer(Sensor):
    """The temperature a DS18B20 die converts (offset: its ±0.5 degC accuracy [S54]).

    It fails on its bus, not on an analog wire: devices.DS18B20 looks at `electrical`.
    """


class Actuator:
    """Output pin -> plant input: the share of the last step the pin was active, or forced.

    scale: full-on value (mL/min including the pump's calibration error, W); scale None
    gives a bool (valves: open when active more than half the step). A pump whose outlet is
    in a measuring cylinder (`cylinder`, a sim.standards.Cylinder) fills it instead of the
    plant.
    """

    def __init__(self, pin, active_high, plant, attr, scale):
        self.pin = pin
        self._active_high = active_high
        self._plant = plant
        self._attr = attr
        self._scale = scale
        self.forced = None  # 0.0 stuck off / failed, 1.0 stuck on
        self.cylinder = None
        self._share = None  # last share applied to the plant

    def drives(self, plant, attr):
        return plant is self._plant and attr == self._attr

    @property
    def pumps(self):
        return self._attr.endswith("_ml_per_min")

    def apply(self, now_ms, step_ms):
        share = self.pin.high_share(now_ms, step_ms)
        if not self._active_high:
            share = 1.0 - share
        if self.forced is not None:
            share = self.forced
        if self.cylinder is not None:
            self.cylinder.ml += share * self._scale * step_ms / 60000.0
            share = 0.0
        if share != self._share:  # most steps change nothing: skip the plant update
            self._share = share
            setattr(self._plant, self._attr,
                    share > 0.5 if self._scale is None else share * self._scale)
