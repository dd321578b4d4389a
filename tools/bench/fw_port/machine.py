"""Stand-in for the port's machine module, for tools/bench/firmware.py only.

The benchmark runs the real board HAL (firmware/hal/mcu.py) on an ESP32 board file; this
module plays the chip under it. Pins keep their level, the ADS1115s answer each conversion
from the table firmware.py computed (I2C.answers, key addr << 6 | MUX << 3 | PGA: the
config bits 14-9 of the last write) with a few codes of noise (a reading that never moves
is a stuck sensor to the firmware, the canister's pressure too), the watchdog counts feeds,
and the UART is the host
end that fw_runtime.py scripts (UART.script). Kept to what mcu.py calls, so the heap holds
little besides the firmware.
"""

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
BROWNOUT_RESET = 6


def reset_cause():
    return PWRON_RESET


def reset():
    raise SystemExit("machine.reset()")


class Pin:
    IN = 1
    OUT = 3

    def __init__(self, gpio, mode=IN, value=None):
        self.gpio = gpio
        self.level = value or 0
        self.was_high = False  # driven high since the harness last looked

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = 1 if v else 0
        if v:
            self.was_high = True
        return None


class I2C:
    answers = {}  # set by fw_runtime.py before the HAL is built

    def __init__(self, bus_id, scl=None, sda=None, freq=400000):
        self.config = {}  # addr -> the last config register write
        self._n = 1  # the noise generator (ZX81's LCG: small ints), -2 .. +2 codes

    def writeto_mem(self, addr, reg, buf):
        c = self.config.get(addr)
        if c is None:
            c = self.config[addr] = bytearray(2)
        c[0] = buf[0]
        c[1] = buf[1]

    def readfrom_mem_into(self, addr, reg, buf):
        c = self.config[addr]
        if reg == 1:
            buf[0] = c[0]
            buf[1] = c[1]
            return
        src = self.answers[addr << 6 | c[0] >> 1 & 0x3F]
        self._n = (self._n * 75 + 74) % 65537
        code = (src[0] << 8 | src[1]) + self._n % 5 - 2
        buf[0] = code >> 8 & 0xFF
        buf[1] = code & 0xFF


SoftI2C = I2C


class UART:
    script = None  # set by fw_runtime.py: an object with readinto(buf) and write(buf)

    def __init__(self, uart_id, **kwargs):
        pass

    def readinto(self, buf):
        return self.script.readinto(buf)

    def write(self, buf):
        return self.script.write(buf)


class WDT:
    feeds = 0

    def __init__(self, timeout=5000):
        self.timeout = timeout

    def feed(self):
        WDT.feeds += 1
