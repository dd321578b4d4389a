# pilotedge: actuator outputs (pumps, valves, heater SSR) with deadman timers (MIT).
#
# Every output starts OFF (de-energised = safe [S96]). Switching one on arms a retriggerable
# deadman: unless the controller re-commands it within deadman_ms, service() switches it off
# and counts the expiry, so a hung task or a lost link cannot leave a pump or heater running.
# force_safe() is the safety path: it switches off and latches the output off until
# release(). Time comes only from the injected clock (ticks_ms / ticks_add / ticks_diff).
#
# Both kinds have off(), rearm(), service(now_ms), force_safe(), release(), `active`,
# `expiries` and `inhibited`; DigitalOutput adds on(), TimeProportionedOutput set_duty().


class _Output:
    def __init__(self, pin, active_high, deadman_ms, clock):
        self._pin = pin
        self._active_high = active_high
        self._deadman_ms = deadman_ms
        self._clock = clock
        self._armed = False  # commanded on and watched by the deadman
        self._deadline_ms = 0
        self.expiries = 0  # deadman expiries since boot
        self.inhibited = False  # latched by force_safe()
        self.active = False  # level currently driven: True = energised
        self._drive(False)

    def _drive(self, active):
        self.active = active
        self._pin.value(1 if active == self._active_high else 0)

    def _arm(self):
        # Start or extend the deadman window; False (and stay off) while inhibited.
        if self.inhibited:
            return False
        self._armed = True
        self._deadline_ms = self._clock.ticks_add(self._clock.ticks_ms(), self._deadman_ms)
        return True

    def _disarm(self):
        self._armed = False
        self._drive(False)

    def off(self):
        self._disarm()

    def rearm(self):
        # Controller heartbeat: keep an output that is on, on for another deadman_ms.
        if self._armed:
            self._arm()

    def service(self, now_ms):
        # Call every scheduler pass. True when the deadman expired on this call.
        if self._armed and self._clock.ticks_diff(now_ms, self._deadline_ms) >= 0:
            self._disarm()
            self.expiries += 1
            return True
        return False

    def force_safe(self):
        self.inhibited = True
        self._disarm()

    def release(self):
        # Allow on() again after force_safe(); the output stays off until commanded.
        self.inhibited = False


class DigitalOutput(_Output):
    def on(self):
        # Energise and (re)arm the deadman. False when inhibited by force_safe().
        if not self._arm():
            return False
        self._drive(True)
        return True


class TimeProportionedOutput(_Output):
    # Slow PWM for an SSR: on for duty_pct % of every window_ms, capped by the hardware
    # max_duty_pct (board hw_limits). The resolution is the scheduler period.

    def __init__(self, pin, active_high, deadman_ms, clock, window_ms, max_duty_pct=100):
        super().__init__(pin, active_high, deadman_ms, clock)
        self._window_ms = window_ms
        self._max_duty_pct = max(0, min(100, max_duty_pct))
        self._window_start_ms = 0
        self.duty_pct = 0

    def set_duty(self, duty_pct):
        # Command a duty (clamped to 0 ... max_duty_pct); a non-zero duty re-arms the deadman.
        # Returns the duty applied (0 while inhibited). Takes effect at the next service().
        duty_pct = max(0, min(self._max_duty_pct, duty_pct))
        if duty_pct <= 0:
            self._disarm()
            return 0
        was_armed = self._armed
        if not self._arm():
            return 0
        if not was_armed:  # start a fresh window so the on-phase begins now
            self._window_start_ms = self._clock.ticks_ms()
        self.duty_pct = duty_pct
        return duty_pct

    def _disarm(self):
        self.duty_pct = 0
        super()._disarm()

    def service(self, now_ms):
        if super().service(now_ms):
            return True
        if not self._armed:
            return False
        clock = self._clock
        phase_ms = clock.ticks_diff(now_ms, self._window_start_ms)
        if phase_ms >= self._window_ms:
            # Skip whole windows missed by a late pass, keeping the window grid.
            skip_ms = phase_ms - phase_ms % self._window_ms
            self._window_start_ms = clock.ticks_add(self._window_start_ms, skip_ms)
            phase_ms -= skip_ms
        self._drive(phase_ms * 100 < self.duty_pct * self._window_ms)
        return False
