"""Constants, helpers and the base class shared by the simulated plants (bench only).

Pure Python + `math`, so the same file runs inside the MicroPython unix port next to the
firmware and on CPython for the physics tests. Constants as in docs/references.md (preamble).
The bench's simulated hardware (this package) imports nothing of the firmware, whose files
live on the board's flash, so it has its own `const` switch here.
"""

import math

try:
    from micropython import const
except ImportError:  # CPython, for the physics and device tests: every const is an int
    const = int  # type: ignore[assignment]


R_J_PER_MOL_K = 8.314462618
F_C_PER_MOL = 96485.332
KELVIN = 273.15
LN10 = math.log(10.0)
# Normal litre at 0 degC and 1.01325 bar (DIN 1343): 1 mol of ideal gas = 22.414 NL.
NL_PER_MOL = R_J_PER_MOL_K * KELVIN / 101325.0 * 1000.0
ATM_BAR = 1.01325
S_PER_H = 3600.0


def arrhenius(c_per_s, e_j_per_mol, t_k):
    """Rate constant c·exp(-E/RT), t_k in kelvin."""
    return c_per_s * math.exp(-e_j_per_mol / (R_J_PER_MOL_K * t_k))


def lag_fraction(dt_s, tau_s):
    """Share of the gap a first-order lag closes in dt_s; exact, so stable for any dt_s."""
    return 1.0 - math.exp(-dt_s / tau_s)


class Plant:
    """Parameters become attributes; step() splits dt_s into equal sub-steps of ≤ max_step_s.

    A subclass passes its DEFAULTS (which must hold max_step_s) and implements
    _advance(dt_s), the integration of one sub-step.
    """

    max_step_s = 1.0  # replaced by the subclass's DEFAULTS

    def __init__(self, defaults, params):
        for key in defaults:
            setattr(self, key, defaults[key])
        if params:
            for key in params:
                # A misspelt key would otherwise leave the default silently in place.
                if key not in defaults:
                    raise ValueError("unknown plant parameter: " + key)
                setattr(self, key, params[key])
        self.t_s = 0.0

    def _advance(self, dt_s):
        raise NotImplementedError  # the subclass integrates one sub-step

    def step(self, dt_s):
        """Advance the plant by dt_s seconds with the current inputs."""
        n = max(1, int(math.ceil(dt_s / self.max_step_s)))
        sub_s = dt_s / n
        for _ in range(n):
            self._advance(sub_s)
        self.t_s += dt_s
