# pilotedge: cyclic executive on the HAL clock (MIT).
#
# Not asyncio: MicroPython's asyncio reads time.ticks_ms() itself, so it could not follow the
# bench's simulated clock, which runs faster than real time. Here every time comes from
# hal.clock and the only wait is clock.sleep_until(next deadline), so the same code runs on a
# board, on the bench and in tests on a fake clock.
#
# Tasks are fixed-rate: a task is due at phase_ms + k * period_ms after start. A task that
# ends after its next deadline is an overrun: counted, and its missed releases are skipped
# instead of run back to back. An exception in a task is handed to on_error and the task is
# disabled; a pass in which a due task did not run fails its self-check.


class Uptime:
    # Time since boot, without the 2**30 ms wrap of ticks_ms (12.4 days), from start_ms on
    # (the HAL's uptime_start_ms: 0 on a board, a bench may start one just before the wire
    # uptime wraps). Kept as whole seconds `s` and the milliseconds past them, which stay
    # small ints on a 32-bit port (31-bit signed) for 34 years: one count of milliseconds
    # would pass 2**30 after 12.4 days and allocate a long at every update from then on.

    def __init__(self, clock, start_ms=0):
        self._clock = clock
        self._last = clock.ticks_ms()
        self.s = start_ms // 1000
        self._ms = start_ms % 1000

    def update(self):
        now = self._clock.ticks_ms()
        ms = self._ms + self._clock.ticks_diff(now, self._last)
        self._last = now
        if ms >= 1000:
            self.s += ms // 1000
            ms %= 1000
        self._ms = ms
        return now

    @property
    def ms(self):
        # The wire uptime: milliseconds modulo 2**32 (49.7 days), wrapping by definition
        # (protocol/README.md). A long on a 32-bit port past 2**30: read for encoding only,
        # and not masked: `& 0xFFFFFFFF` takes a long there and allocates for any value.
        ms = self.s * 1000 + self._ms
        return ms if ms <= 0xFFFFFFFF else ms % 0x100000000


class Task:
    def __init__(self, name, fn, period_ms, phase_ms=0):
        self.name = name
        self.fn = fn  # fn(now_ms)
        self.period_ms = period_ms
        self.phase_ms = phase_ms
        self.due_ms = 0
        self.enabled = True
        self.overruns = 0
        self.max_ms = 0  # longest run


class Scheduler:
    def __init__(self, clock, on_error, on_overrun):
        self.clock = clock
        self.tasks = []  # run in this order when due in the same pass
        self._on_error = on_error  # on_error(task, exc)
        self._on_overrun = on_overrun  # on_overrun(task, duration_ms), on a new worst case
        self.overruns = 0
        self.cycle_max_ms = 0  # longest pass
        self.passes = 0

    def add(self, name, fn, period_ms, phase_ms=0):
        t = Task(name, fn, period_ms, phase_ms)
        self.tasks.append(t)
        return t

    def find(self, name):
        for t in self.tasks:
            if t.name == name:
                return t
        return None

    def start(self, now_ms):
        for t in self.tasks:
            t.due_ms = self.clock.ticks_add(now_ms, t.phase_ms)

    def next_due(self):
        # Earliest deadline of the enabled tasks.
        clock = self.clock
        best = None
        for t in self.tasks:
            if t.enabled and (best is None or clock.ticks_diff(t.due_ms, best) < 0):
                best = t.due_ms
        return best

    def run_pass(self, start_ms):
        # Run every task due at start_ms; True when all of them ran to completion and no
        # task is disabled.
        clock = self.clock
        ok = True
        for t in self.tasks:
            if not t.enabled:
                ok = False
                continue
            if clock.ticks_diff(start_ms, t.due_ms) < 0:
                continue
            t0 = clock.ticks_ms()
            try:
                t.fn(t0)
            except Exception as e:  # any task error must end in the safe state
                t.enabled = False
                ok = False
                self._on_error(t, e)
            t1 = clock.ticks_ms()
            dur_ms = clock.ticks_diff(t1, t0)
            t.due_ms = clock.ticks_add(t.due_ms, t.period_ms)
            late_ms = clock.ticks_diff(t1, t.due_ms)
            if late_ms > 0:
                t.overruns += 1
                self.overruns += 1
                # Skip the releases that passed while it ran: next due is the first one ahead.
                t.due_ms = clock.ticks_add(t.due_ms, (late_ms // t.period_ms + 1) * t.period_ms)
                if dur_ms > t.max_ms:
                    t.max_ms = dur_ms
                    self._on_overrun(t, dur_ms)
            elif dur_ms > t.max_ms:
                t.max_ms = dur_ms
        self.passes += 1
        d = clock.ticks_diff(clock.ticks_ms(), start_ms)
        if d > self.cycle_max_ms:
            self.cycle_max_ms = d
        return ok

    def set_period(self, name, period_ms):
        t = self.find(name)
        if t is not None:
            t.period_ms = period_ms
