# pilotedge: sensors that cannot lie unnoticed: plausibility verdicts per sample (MIT).
#
# Each detector qualifies data and switches nothing (foxBMS: "plausibility validates, the
# state machine consumes", docs/references.md §5.1): update() returns OK or the reason the
# value must not be used; the loop goes safe on any reason, and one Alarm per sensor (with
# its on-delay, control/alarm.py) turns a persisting reason into one raise. A read error
# (None) is a verdict, never a number.
#
# Values are ints in wire units (milli-pH, centi-degC, mV) and times ms, so a check
# allocates nothing. Figures for the parameters (docs/references.md §1.5, §2.2, §5.3):
# - rate: a vessel of C = 4.19 kJ/K per L heated by P W rises at most P / C: 10 L and
#   300 W give 0.43 K/min; a pH electrode follows with tau >= 5 s, so a jump of a whole pH
#   within a second is a broken electrode or front end, not the broth;
# - stuck: electrode noise is 0.1-0.5 mV rms (§2.4) and the ADS1115 resolves 16 uV, so 30
#   identical readings in a row are a frozen value; a DS18B20 in a steady vessel may
#   legitimately repeat for minutes (0.0625 K steps): leave stuck off there and let the
#   heater's NoResponse and the second thermometer (TwinCheck) catch it.

from compat import const

OK = const(0)
MISSING = const(1)  # the read failed (None)
STALE = const(2)  # no new sample for max_age_ms
RANGE = const(3)  # outside what the sensor can report when it works
RATE = const(4)  # moved faster than the process and the sensor can
STUCK = const(5)  # the same value stuck_n times in a row: no noise at all
NO_RESPONSE = const(6)  # the process did not answer its drive (dose, heater)
DISAGREE = const(7)  # two sensors of one quantity differ beyond their tolerance
TRIP = const(8)  # a cutoff was passed: latched until reset()

_MAX_ELAPSED_MS = const(3600000)  # rate allowance stops growing after an hour


class SensorCheck:
    # Missing, stale, range, rate and stuck checks of one sensor, the first failing first.

    def __init__(self, lo, hi, max_age_ms, max_per_min, slack, stuck_n=0):
        # Values in [lo, hi]; a new sample at least every max_age_ms; moves of at most
        # slack + max_per_min per minute since the last accepted value (slack: noise and
        # quantisation); stuck_n identical fresh values in a row is stuck (0: off).
        self.lo = lo
        self.hi = hi
        self.max_age_ms = max_age_ms
        self.max_per_min = max_per_min
        self.slack = slack
        self.stuck_n = stuck_n
        self.reset()

    def reset(self):
        self._age_ms = 0
        self._ref = None  # last value that passed the rate check
        self._elapsed_ms = 0  # since _ref
        self._last = None
        self._same = 0
        self.verdict = OK

    def update(self, value, dt_ms, fresh=True):
        # fresh: the driver produced a new sample since the last call (a thermometer
        # between conversions repeats its last one).
        self._age_ms = min(self._age_ms + dt_ms, _MAX_ELAPSED_MS)
        self._elapsed_ms = min(self._elapsed_ms + dt_ms, _MAX_ELAPSED_MS)
        self.verdict = self._check(value, fresh)
        return self.verdict

    def _check(self, value, fresh):
        if value is None:
            return MISSING
        if not fresh:
            return STALE if self._age_ms >= self.max_age_ms else self.verdict
        self._age_ms = 0
        if not self.lo <= value <= self.hi:
            return RANGE
        if value == self._last:
            self._same += 1
        else:
            self._same = 1
            self._last = value
        if self.stuck_n and self._same >= self.stuck_n:
            return STUCK
        ref = self._ref
        if ref is not None:
            allow = self.slack + self.max_per_min * (self._elapsed_ms // 1000) // 60
            if abs(value - ref) > allow:
                return RATE  # _ref stays: a lasting jump stays implausible until physics allows
        self._ref = value
        self._elapsed_ms = 0
        return OK


class NoResponse:
    # Does the process answer its drive? Drive (acid uL dosed, heater J above the worst-case
    # losses) accumulates from the first drive; once min_drive has gone in and settle_ms has
    # passed, the value must have moved by min_change in `sign`'s direction (-1: acid lowers
    # pH, +1: heat raises temperature, 0: either way) or it is NO_RESPONSE, until reset().
    # min_drive is what moves the process by several times min_change at its slowest
    # (largest buffer capacity, heat capacity), min_change a few times the noise.

    def __init__(self, min_drive, min_change, sign, settle_ms):
        self.min_drive = min_drive
        self.min_change = min_change
        self.sign = sign
        self.settle_ms = settle_ms
        self.reset()

    def reset(self):
        self._drive = 0
        self._start = None
        self._wait_ms = 0
        self.verdict = OK

    def update(self, value, drive, dt_ms):
        # value: the measurement now (None: unknown, nothing judged); drive: since last call.
        if value is None or self.verdict == NO_RESPONSE:
            return self.verdict
        if self._start is None:
            if drive <= 0:
                return OK
            self._start = value
        self._drive += drive
        change = value - self._start
        if self.sign:
            change *= self.sign
        elif change < 0:
            change = -change
        if change >= self.min_change:
            self._drive = 0  # answered: judge the next drive afresh
            self._start = None
            self._wait_ms = 0
        elif self._drive >= self.min_drive:
            self._wait_ms += dt_ms
            if self._wait_ms >= self.settle_ms:
                self.verdict = NO_RESPONSE
        return self.verdict


class TwinCheck:
    # Over-temperature cutoff on two independent thermometers (1oo2, docs/references.md §5.3):
    # either one above cutoff trips, latched until reset() with both back below
    # cutoff - band; one missing leaves the other guarding (MISSING, so the loop still goes
    # safe and says why); both present but apart by more than tol is DISAGREE (foxBMS
    # redundancy tolerance 5 K, [S89]). The heater may run only on OK.

    def __init__(self, cutoff, tol, band):
        self.cutoff = cutoff
        self.tol = tol
        self.band = band
        self.tripped = False
        self._a = None
        self._b = None

    def update(self, a, b):
        self._a = a
        self._b = b
        if (a is not None and a > self.cutoff) or (b is not None and b > self.cutoff):
            self.tripped = True
        if self.tripped:
            return TRIP
        if a is None or b is None:
            return MISSING
        return DISAGREE if abs(a - b) > self.tol else OK

    def reset(self):
        # Operator reset of the trip: only with both readings back below cutoff - band.
        a = self._a
        b = self._b
        if a is None or b is None or max(a, b) > self.cutoff - self.band:
            return False
        self.tripped = False
        return True
