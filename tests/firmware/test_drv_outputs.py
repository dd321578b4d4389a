# Deadman-protected outputs and the time-proportioned heater output, on a manual clock.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from drivers.outputs import DigitalOutput, TimeProportionedOutput
from hal.fake import FakeClock, FakePin

NEAR_WRAP_MS = (1 << 30) - 1000  # every timing test also crosses the ticks wrap


def test_starts_off_at_the_inactive_level():
    high, low = FakePin(1), FakePin(0)
    DigitalOutput(high, True, 1000, FakeClock())
    DigitalOutput(low, False, 1000, FakeClock())
    assert high.value() == 0 and low.value() == 1


def test_deadman_switches_off_and_counts():
    clock, pin = FakeClock(NEAR_WRAP_MS), FakePin()
    out = DigitalOutput(pin, True, 5000, clock)
    assert out.on() and pin.value() == 1
    clock.advance(4999)
    assert not out.service(clock.ticks_ms()) and pin.value() == 1
    clock.advance(1)
    assert out.service(clock.ticks_ms())
    assert pin.value() == 0 and not out.active and out.expiries == 1
    clock.advance(10000)
    assert not out.service(clock.ticks_ms()) and out.expiries == 1  # counted once


def test_rearm_keeps_it_on_and_off_stays_off():
    clock, pin = FakeClock(NEAR_WRAP_MS), FakePin()
    out = DigitalOutput(pin, False, 1000, clock)
    out.on()
    assert pin.value() == 0  # active low
    for _ in range(5):
        clock.advance(900)
        out.rearm()
        assert not out.service(clock.ticks_ms())
    out.off()
    assert pin.value() == 1
    out.rearm()  # no effect while off
    clock.advance(5000)
    assert not out.service(clock.ticks_ms()) and pin.value() == 1 and out.expiries == 0


def test_force_safe_latches_until_release():
    clock, pin = FakeClock(), FakePin()
    out = DigitalOutput(pin, True, 1000, clock)
    out.on()
    out.force_safe()
    assert pin.value() == 0 and out.inhibited
    assert not out.on() and pin.value() == 0
    out.release()
    assert pin.value() == 0  # release alone does not switch on
    assert out.on() and pin.value() == 1


def run_window(out, clock, pin, ms, step_ms=10):
    # Milliseconds the pin was energised during the next `ms`, re-commanding as a controller.
    on_ms = 0
    for _ in range(ms // step_ms):
        out.service(clock.ticks_ms())
        on_ms += step_ms * pin.value()
        clock.advance(step_ms)
    return on_ms


def test_time_proportioned_duty():
    clock, pin = FakeClock(NEAR_WRAP_MS), FakePin()
    heater = TimeProportionedOutput(pin, True, 5000, clock, 2000)
    assert heater.set_duty(25) == 25
    assert run_window(heater, clock, pin, 2000) == 500
    heater.set_duty(25)
    assert run_window(heater, clock, pin, 2000) == 500
    heater.set_duty(0)
    assert pin.value() == 0 and run_window(heater, clock, pin, 2000) == 0


def test_time_proportioned_clamps_to_hardware_max():
    clock, pin = FakeClock(), FakePin()
    heater = TimeProportionedOutput(pin, True, 5000, clock, 2000, max_duty_pct=40)
    assert heater.set_duty(80) == 40
    assert run_window(heater, clock, pin, 2000) == 800
    assert heater.set_duty(-5) == 0


def test_time_proportioned_deadman():
    clock, pin = FakeClock(NEAR_WRAP_MS), FakePin()
    heater = TimeProportionedOutput(pin, True, 3000, clock, 1000)
    heater.set_duty(50)
    assert run_window(heater, clock, pin, 3000) == 1500  # three windows, then silence
    assert run_window(heater, clock, pin, 2000) == 0
    assert heater.expiries == 1 and heater.duty_pct == 0


def test_time_proportioned_keeps_window_grid_after_a_late_pass():
    clock, pin = FakeClock(), FakePin()
    heater = TimeProportionedOutput(pin, True, 10000, clock, 1000)
    heater.set_duty(30)
    clock.advance(4100)  # four windows missed: 100 ms into the fifth
    heater.service(clock.ticks_ms())
    assert pin.value() == 1
    clock.advance(250)
    heater.service(clock.ticks_ms())
    assert pin.value() == 0


def test_time_proportioned_force_safe():
    clock, pin = FakeClock(), FakePin()
    heater = TimeProportionedOutput(pin, True, 5000, clock, 1000)
    heater.set_duty(100)
    heater.service(clock.ticks_ms())
    assert pin.value() == 1
    heater.force_safe()
    assert pin.value() == 0 and heater.duty_pct == 0
    assert heater.set_duty(50) == 0
    assert run_window(heater, clock, pin, 1000) == 0


def test_off_works_on_both_kinds():
    clock, pin, heater_pin = FakeClock(), FakePin(), FakePin()
    pump = DigitalOutput(pin, True, 1000, clock)
    heater = TimeProportionedOutput(heater_pin, True, 1000, clock, 1000)
    pump.on()
    heater.set_duty(60)
    heater.service(clock.ticks_ms())
    for out in (pump, heater):
        out.off()
        assert not out.active
    assert pin.value() == 0 and heater_pin.value() == 0 and heater.duty_pct == 0
    clock.advance(5000)
    assert not pump.service(clock.ticks_ms()) and not heater.service(clock.ticks_ms())
