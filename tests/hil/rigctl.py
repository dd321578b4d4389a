# pilotedge HIL: the rig controller, a second MicroPython board (a Raspberry Pi Pico) wired
# into a bench rig (MIT). Copy it onto the controller (`mpremote cp tests/hil/rigctl.py :`);
# the suite drives it through the controller's raw REPL with the calls its rig file lists.
#
# WIRING says which controller GPIO does what to the board under test; a rig file's comments
# show the same wiring for its board. Relays are driven active-high through a ULN2003.

from machine import PWM, Pin

# Relays that break or short a sensor line (normally open contacts; energised = fault).
FAULT_RELAYS = {
    ("v0_temp", "open"): 2,  # in series with the DS18B20 data line (NC contact)
    ("v0_temp", "short"): 3,  # data line to GND
    ("v0_ph", "open"): 4,  # pH electrode signal (guarded coax) broken
    ("v0_ph", "short"): 5,  # electrode signal to its reference
    ("c0_pressure", "open"): 6,  # transducer signal broken (the ADC input is pulled down)
    ("c0_pressure", "short"): 7,  # transducer signal to its supply
}
# Inputs reading the board's output drivers back through 3.3 V opto-couplers (high = on).
READBACK = {"v0_acid": 10, "v0_base": 11, "v0_heater": 12, "v0_aeration": 13, "c0_inlet": 14}
# The pressure source: a relay swaps the transducer for PWM + RC filter (10 kohm, 10 uF)
# scaled to the transducer's 0.5-4.5 V span, and the PWM's duty sets the "pressure".
PRESSURE_SWAP = 8
PRESSURE_PWM = 16
RANGE_BAR = (0.0, 40.0)  # the board file's c0_pressure range_bar

_relays = {key: Pin(gpio, Pin.OUT, value=0) for key, gpio in FAULT_RELAYS.items()}
_inputs = {name: Pin(gpio, Pin.IN, Pin.PULL_DOWN) for name, gpio in READBACK.items()}
_swap = Pin(PRESSURE_SWAP, Pin.OUT, value=0)
_pwm = PWM(Pin(PRESSURE_PWM), freq=20000, duty_u16=0)


def fault(sensor, kind):
    # kind "open", "short", "stuck" (not wirable: refused) or "ok" (every relay released).
    for (name, k), pin in _relays.items():
        if name == sensor:
            pin.value(1 if k == kind else 0)
    if kind not in ("ok", "open", "short"):
        raise ValueError("this rig cannot make %s %s" % (sensor, kind))
    return kind


def output(name):
    return _inputs[name].value()


def pressure(bar):
    # Swap the transducer for the source and set it to `bar` (None: back to the transducer).
    if bar is None:
        _swap.value(0)
        _pwm.duty_u16(0)
        return 0
    lo, hi = RANGE_BAR
    share = 0.1 + 0.8 * (bar - lo) / (hi - lo)  # 10-90 % of the supply, as the transducer
    _pwm.duty_u16(int(65535 * share))
    _swap.value(1)
    return bar
