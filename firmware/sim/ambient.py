"""Daily room-temperature cycle shared by all plants on one bench.

One object per room: the bench evaluates it once per step and writes the result into every
plant's `ambient_c` input, so the vessel and the canister always see the same air.
"""

import math


class DailyAmbient:
    """T(t) = mean_c + swing_k·cos(2π(t − peak_s)/period_s); swing_k is the half amplitude."""

    def __init__(self, mean_c=20.0, swing_k=0.0, period_s=86400.0, peak_s=54000.0):
        # peak_s = 15 h: warmest in mid-afternoon if t = 0 is midnight (assumption).
        self.mean_c = mean_c
        self.swing_k = swing_k
        self.period_s = period_s
        self.peak_s = peak_s

    def at(self, t_s):
        return self.mean_c + self.swing_k * math.cos(
            2.0 * math.pi * (t_s - self.peak_s) / self.period_s
        )
