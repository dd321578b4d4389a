# The cyclic executive on an injected clock: rates, phases, overruns, task errors, uptime.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from hal.fake import FakeClock
from runtime.scheduler import Scheduler, Uptime

NEAR_WRAP_MS = (1 << 30) - 2500  # every run also crosses the 2**30 ticks wrap


class Log:
    def __init__(self):
        self.errors = []
        self.overruns = []

    def on_error(self, task, exc):
        self.errors.append((task.name, str(exc)))

    def on_overrun(self, task, dur_ms):
        self.overruns.append((task.name, dur_ms))


def _run(sched, clock, ms):
    # The runtime's loop in miniature: pass, then sleep to the next deadline.
    end = clock.ticks_add(clock.ticks_ms(), ms)
    while clock.ticks_diff(clock.ticks_ms(), end) < 0:
        sched.run_pass(clock.ticks_ms())
        clock.sleep_until(sched.next_due())


def test_rates_and_phases():
    clock = FakeClock(NEAR_WRAP_MS)
    log = Log()
    sched = Scheduler(clock, log.on_error, log.on_overrun)
    start = clock.ticks_ms()
    seen = []
    sched.add("fast", lambda now: seen.append(("fast", clock.ticks_diff(now, start))), 100, 0)
    sched.add("slow", lambda now: seen.append(("slow", clock.ticks_diff(now, start))), 1000, 50)
    sched.start(start)
    _run(sched, clock, 5000)
    fast = [t for name, t in seen if name == "fast"]
    slow = [t for name, t in seen if name == "slow"]
    assert fast == list(range(0, 5000, 100))
    assert slow == [50, 1050, 2050, 3050, 4050]
    assert sched.overruns == 0 and log.errors == []


def test_overrun_is_counted_and_missed_releases_skipped():
    clock = FakeClock(NEAR_WRAP_MS)
    log = Log()
    sched = Scheduler(clock, log.on_error, log.on_overrun)
    runs = []

    def slow(now):
        runs.append(now)
        if len(runs) == 3:
            clock.advance(250)  # this run takes 250 ms of a 100 ms period

    t = sched.add("slow", slow, 100)
    sched.start(clock.ticks_ms())
    _run(sched, clock, 1000)
    assert t.overruns == 1 and sched.overruns == 1
    assert log.overruns == [("slow", 250)]
    # Released at 0, 100, 200; the run at 200 ends at 450, so 300 and 400 are skipped.
    gaps = [clock.ticks_diff(runs[i + 1], runs[i]) for i in range(len(runs) - 1)]
    assert gaps == [100, 100, 300, 100, 100, 100, 100]
    assert sched.cycle_max_ms == 250
    assert t.max_ms == 250


def test_exception_disables_the_task_and_fails_the_pass():
    clock = FakeClock()
    log = Log()
    sched = Scheduler(clock, log.on_error, log.on_overrun)
    calls = []

    def bad(now):
        calls.append(now)
        raise ValueError("boom")

    sched.add("bad", bad, 100)
    sched.add("good", lambda now: None, 100)
    sched.start(0)
    assert not sched.run_pass(0)
    assert log.errors == [("bad", "boom")]
    clock.advance(100)
    assert not sched.run_pass(clock.ticks_ms())  # a disabled task keeps failing the pass
    assert len(calls) == 1


def test_uptime_survives_the_ticks_wrap():
    clock = FakeClock(NEAR_WRAP_MS)
    up = Uptime(clock)
    for _ in range(5):
        clock.advance(1000)
        up.update()
    assert up.ms == 5000


def test_uptime_starts_where_the_hal_says_and_wraps_on_the_wire_at_2_32_ms():
    clock = FakeClock(NEAR_WRAP_MS)
    up = Uptime(clock, (1 << 32) - 1500)
    clock.advance(1000)
    up.update()
    assert up.ms == (1 << 32) - 500
    clock.advance(1200)
    up.update()
    assert up.ms == 700 and up.s == ((1 << 32) + 700) // 1000
    # Kept as seconds and the ms past them: both small ints on a 32-bit port (< 2**30).
    assert up.s < 1 << 30 and 0 <= up._ms < 1000
