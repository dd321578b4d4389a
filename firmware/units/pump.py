# pilotedge: a dosing pump: volume -> on-time, duty limit, budgets, totals (MIT).
#
# Volumes become on-time at the board's calibrated flow (pump_ml_per_min, the later
# calibration issue replaces it). The pump runs for at most duty_pct of every _WINDOW_MS so
# it never exceeds the hardware-safe duty (hw_limits.pump_max_duty_pct via the
# pump_duty_max param). A dose reserves its whole volume in the hour/day budgets when it is
# accepted; a manual run books what it delivers as it goes and stops at a budget.

from compat import const
from control.budget import DoseBudget
from pilotproto import messages as m

_WINDOW_MS = const(10000)

IDLE = const(0)
DOSING = const(1)
MANUAL = const(2)

# service() results.
DONE = const(1)
LIMIT = const(2)
PROGRESS = const(3)  # a dose has run another PROGRESS_MS: time to report its progress


class Pump:
    def __init__(self, output, ml_per_min):
        self.output = output
        self._ul_per_ms = ml_per_min / 60.0  # mL/min = uL/ms x 60
        self.budget = DoseBudget()
        # Delivered since boot as whole mL and the uL past them: small ints on a 32-bit
        # port however long the board runs (one uL count would pass 2**30 at 1074 L).
        self._total_ml = 0
        self._total_ul = 0
        self.limit_keys = ("", "")  # the vessel's hour and day budget param names
        self._begin(IDLE, None, 0)

    @property
    def total_ul(self):
        # Delivered since boot in uL, wrapping at 2**32 like the telemetry field it fills
        # (not masked: on a 32-bit port `& 0xFFFFFFFF` allocates for any value).
        ul = self._total_ml * 1000 + self._total_ul
        return ul if ul <= 0xFFFFFFFF else ul % 0x100000000

    def delivered_ul(self):
        # Of the running (or last) dose.
        return int(self._on_ms * self._ul_per_ms + 0.5)

    def dose(self, vol_ul, cmd_id):
        self.budget.add(vol_ul)
        self._begin(DOSING, cmd_id, int(vol_ul / self._ul_per_ms + 0.5))
        self.target_ul = vol_ul

    def progress_pct(self):
        # Of the running dose, 0..99 (100 is for a dose that is done).
        return min(99, self._on_ms * 100 // max(1, self._target_ms))

    def run_manual(self, duty_pct):
        self._begin(MANUAL, None, 0)
        self.manual_pct = duty_pct

    def _begin(self, mode, cmd_id, target_ms):
        self.mode = mode
        self.cmd_id = cmd_id  # COMMAND that asked for the running dose, None = automatic
        self._target_ms = target_ms
        self._on_ms = 0
        self._booked_ul = 0  # of the running dose or manual run, already in total_ul
        self._phase_ms = 0  # position in the duty window
        self._report_ms = 0  # dosing time since the last progress report
        self.manual_pct = 0
        self.target_ul = 0  # volume of the running (or last) dose

    def stop(self):
        # End a dose or manual run now; returns the volume the dose delivered.
        self.output.off()
        self.mode = IDLE
        return self.delivered_ul()

    def service(self, dt_ms, duty_pct, hour_ul, day_ul):
        # Account the last dt_ms and switch for the next. Returns DONE when a dose just
        # completed, LIMIT when a manual run hit a budget, else 0.
        self.budget.advance(dt_ms)
        if self.output.active:
            self._on_ms += dt_ms
            d_ul = self.delivered_ul() - self._booked_ul
            self._booked_ul += d_ul
            ul = self._total_ul + d_ul
            if ul >= 1000:
                self._total_ml += ul // 1000
                ul %= 1000
            self._total_ul = ul
            if self.mode == MANUAL:
                self.budget.add(d_ul)  # a dose booked its volume up front
        if self.mode == IDLE:
            return 0
        if self.mode == DOSING and self._on_ms >= self._target_ms:
            self.stop()
            return DONE
        if self.mode == MANUAL and not self.budget.fits(1, hour_ul, day_ul):
            self.stop()
            return LIMIT
        if self.mode == MANUAL:
            duty_pct = min(duty_pct, self.manual_pct)
        self._phase_ms = (self._phase_ms + dt_ms) % _WINDOW_MS
        if self._phase_ms * 100 < duty_pct * _WINDOW_MS:
            self.output.on()
        else:
            self.output.off()
        if self.mode == DOSING:
            self._report_ms += dt_ms
            if self._report_ms >= m.PROGRESS_MS:
                self._report_ms = 0
                return PROGRESS
        return 0
