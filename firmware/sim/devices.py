# pilotedge bench: the board's chips and buses, emulated at register/command level (MIT).
#
# The firmware's drivers talk to these exactly as to the parts: the ADS1115 through its
# registers over I2C [S46], the DS18B20 through ROM and function commands and its
# scratchpad over 1-Wire [S54][S55], the MAX31865 through its registers over SPI [S58],
# outputs through pins whose on-time is integrated for the plant. Bus objects implement the
# machine.I2C / onewire.OneWire / machine.SPI subsets of hal/README.md. Time is the world's
# monotonic now_ms; analog levels come from the sensors of sim/signals.py, sampled when a
# conversion ends. This is the one emulation of each chip: the bench, the firmware tests
# (tests/firmware/rig.py) and the firmware benchmark all use it.
#
# Allocation: register transfers go through preallocated buffers; a sample allocates only
# the floats of its physics.

import math

from sim.buses import OneWireOps, SpiOps, crc8
from sim.common import const
from sim.signals import OPEN, SHORT, Fixed

_ENODEV = const(19)  # errno of an I2C NACK / a 1-Wire bus without presence pulse

# ---- I2C ---------------------------------------------------------------------------------


class I2CBus:
    """machine.I2C subset: devices by 7-bit address; a missing address NACKs (OSError), and
    so does every one while the bus is stuck (`stuck`: SDA held low, or no pull-ups)."""

    def __init__(self):
        self.devices = {}
        self.stuck = False

    def _device(self, addr):
        dev = self.devices.get(addr)
        if dev is None or self.stuck:
            raise OSError(_ENODEV)
        return dev

    def readfrom_mem_into(self, addr, reg, buf):
        self._device(addr).read(reg, buf)

    def writeto_mem(self, addr, reg, buf):
        self._device(addr).write(reg, buf)

    def scan(self):
        return sorted(self.devices)


_REG_CONVERSION = const(0)
_REG_CONFIG = const(1)
_REG_LO_THRESH = const(2)
_REG_HI_THRESH = const(3)
_OS = const(0x8000)
_MODE_SINGLE = const(0x0100)
_CONFIG_RESET = const(0x8583)  # power-on config: single-shot, AIN0-AIN1, ±2.048 V, 128 SPS
# PGA bits -> full-scale range in mV (codes 5-7 are all ±0.256 V) [S46].
_FSR_MV = (6144, 4096, 2048, 1024, 512, 256, 256, 256)
# DR bits -> samples per second [S46].
_SPS = (8, 16, 32, 64, 128, 250, 475, 860)
# MUX bits -> (positive input, negative input); -1 = GND [S46].
_MUX = ((0, 1), (0, 3), (1, 3), (2, 3), (0, -1), (1, -1), (2, -1), (3, -1))
_GROUND = Fixed(0.0)


class ADS1115:
    """16-bit delta-sigma ADC with PGA and 4:1 mux [S46].

    Writing the config register with OS = 1 starts a single conversion with that mux, PGA
    and data rate; it ends 1/SPS later, when the selected inputs are sampled, quantised to
    FSR/32768 and clipped at ±FSR. Until then config reads OS = 0 and the conversion
    register keeps the previous result. Continuous mode (MODE = 0) converts back to back.
    Registers are 16 bit, MSB first: transfers are exactly 2 bytes, as every driver does.
    inputs[i] is the source on AINi: any object with level() -> mV; an input nothing is
    wired to is pulled to ground (0 mV).
    """

    def __init__(self, clock):
        self._clock = clock
        self.inputs = [_GROUND, _GROUND, _GROUND, _GROUND]
        self._regs = [0, _CONFIG_RESET, 0x8000, 0x7FFF]  # power-on values [S46]
        self._due_ms = None  # end of the running conversion, or None when idle

    def _conversion_ms(self):
        return 1000.0 / _SPS[(self._regs[_REG_CONFIG] >> 5) & 7]

    # read() and write() run for every register access of the firmware's scan: they stay
    # small (the Unix port heap-allocates the frame of a function with more than 11 words
    # of locals and stack on every call), and the sampling lives in _convert().

    def _convert(self):
        # The conversion due now ends: sample, quantise, clip.
        config = self._regs[_REG_CONFIG]
        pos, neg = _MUX[(config >> 12) & 7]
        mv = self.inputs[pos].level()
        if neg >= 0:
            mv -= self.inputs[neg].level()
        fsr = _FSR_MV[(config >> 9) & 7]
        code = max(-32768, min(32767, math.floor(mv * 32768.0 / fsr)))
        self._regs[_REG_CONVERSION] = code & 0xFFFF
        if self._clock.trace is not None:
            self._clock.trace.sample(self.inputs[pos], self._clock.now_ms, code * fsr / 32768.0)
        if config & _MODE_SINGLE:
            self._due_ms = None
        else:
            self._due_ms += self._conversion_ms()

    def read(self, reg, buf):
        if self._due_ms is not None and self._clock.now_ms >= self._due_ms:
            self._convert()
        if reg > _REG_HI_THRESH:
            raise OSError(_ENODEV)
        value = self._regs[reg]
        if reg == _REG_CONFIG and (self._due_ms is None or not value & _MODE_SINGLE):
            value |= _OS  # 1 = not converting (reads 1 in continuous mode too)
        buf[0] = value >> 8
        buf[1] = value & 0xFF

    def write(self, reg, buf):
        if self._due_ms is not None and self._clock.now_ms >= self._due_ms:
            self._convert()
        if reg == _REG_CONVERSION or reg > _REG_HI_THRESH:
            raise OSError(_ENODEV)
        value = buf[0] << 8 | buf[1]
        if reg != _REG_CONFIG:
            self._regs[reg] = value
            return
        self._regs[reg] = value & ~_OS  # OS is an action, not state: it reads back as busy
        if value & _OS or not value & _MODE_SINGLE:
            self._due_ms = self._clock.now_ms + self._conversion_ms()

    def state(self):
        return [self._regs[0], self._regs[1], self._regs[2], self._regs[3]]

    def restore(self, s):
        self._regs = list(s)


# ---- 1-Wire --------------------------------------------------------------------------------


class OneWireBus(OneWireOps):
    """onewire.OneWire subset over emulated devices.

    A byte read is the wired-AND of what every device drives: an idle bus reads 0xFF. A
    device whose wire is shorted holds the whole bus low: every read is 0x00, and reset sees
    a "presence pulse" because the line is low.
    """

    def __init__(self):
        self.devices = []

    def _low(self):
        for d in self.devices:
            if d.shorted():
                return True
        return False

    def reset(self, required=False):
        present = False
        for d in self.devices:
            present = d.reset() or present
        present = present or self._low()
        if required and not present:
            raise OSError(_ENODEV)
        return present

    def writebyte(self, value):
        for d in self.devices:
            d.receive(value)

    def write(self, buf):
        for value in buf:
            self.writebyte(value)

    def readbyte(self):
        value = 0xFF
        for d in self.devices:
            value &= d.send()
        return 0 if self._low() else value


    def scan(self):
        # Search ROM's result; the bit-level search itself is not needed by any driver.
        if self._low():
            return []
        return [bytearray(d.rom) for d in self.devices if d.present()]


# DS18B20 command bytes [S54].
_SEARCH_ROM = const(0xF0)
_READ_ROM = const(0x33)
_MATCH_ROM = const(0x55)
_SKIP_ROM = const(0xCC)
_CONVERT_T = const(0x44)
_WRITE_SCRATCHPAD = const(0x4E)
_READ_SCRATCHPAD = const(0xBE)
_COPY_SCRATCHPAD = const(0x48)
_RECALL_E2 = const(0xB8)
_READ_POWER = const(0xB4)
# Protocol phases after a reset.
_IDLE = const(0)  # not addressed: ignore everything until the next reset
_ROM = const(1)  # waiting for a ROM command
_MATCH = const(2)  # receiving the 8 ROM bytes of Match ROM
_FUNCTION = const(3)  # addressed: waiting for a function command
_WRITE = const(4)  # receiving TH, TL, config of Write Scratchpad
_READ = const(5)  # shifting out _out
_BUSY = const(6)  # after Convert T: read slots say whether the conversion is done

_CONVERSION_MS = (93.75, 187.5, 375.0, 750.0)  # 9..12 bit maxima [S54]
_EEPROM_RESET = (0x4B, 0x46, 0x7F)  # TH, TL, config (12 bit) as shipped [S54]


class DS18B20:
    """DS18B20 on an emulated 1-Wire bus: ROM commands, Convert T, scratchpad with CRC.

    Power-on scratchpad reads 85.00 degC with byte 6 = 0x0C [S55]; a conversion takes 750 ms
    at 12 bit (less at lower resolution) [S54] and then stores the thermometer's temperature
    in 0.0625 degC steps, undefined low bits cleared, byte 6 = 0x10 - (LSB & 0x0F) [S55].
    Reading the scratchpad before the conversion ends returns the previous contents [S56].
    An open sensor (thermometer.electrical == OPEN) gives no presence pulse; a short pulls
    the whole bus low.
    """

    def __init__(self, clock, rom, thermometer):
        self._clock = clock
        self.rom = bytes(rom)
        self._thermo = thermometer
        self._out = bytearray(9)  # bytes being shifted out (scratchpad or ROM)
        self._in = bytearray(8)  # Match ROM bytes / Write Scratchpad bytes
        # Power-on state; a reset that keeps the sensor powered restores state() instead.
        self._eeprom = bytearray(_EEPROM_RESET)
        self._pad = bytearray([0x50, 0x05, 0, 0, 0, 0xFF, 0x0C, 0x10])
        self._pad[2:5] = self._eeprom
        self._phase = _IDLE
        self._n = 0
        self._due_ms = None

    def present(self):
        return self._thermo.electrical != OPEN

    def shorted(self):
        return self._thermo.electrical == SHORT

    def _sync(self):
        # Finish a conversion whose time has come (called on every bus access).
        due = self._due_ms
        if due is not None and self._clock.now_ms >= due:
            self._due_ms = None
            self._store(self._thermo.quantity())

    def _store(self, t_c):
        bits = (self._pad[4] >> 5) & 3  # 0..3 = 9..12 bit
        raw = int(math.floor(max(-55.0, min(125.0, t_c)) * 16.0 + 0.5))
        raw &= ~((1 << (3 - bits)) - 1)
        if self._clock.trace is not None:
            self._clock.trace.sample(self._thermo, self._clock.now_ms, raw / 16.0)
        raw &= 0xFFFF
        self._pad[0] = raw & 0xFF
        self._pad[1] = raw >> 8
        self._pad[6] = 0x10 - (raw & 0x0F)

    def reset(self):
        self._sync()
        if not self.present():
            self._phase = _IDLE
            return False
        self._phase = _ROM
        self._n = 0
        return True

    def receive(self, b):
        self._sync()
        phase = self._phase
        if phase == _ROM:
            if b == _SKIP_ROM:
                self._phase = _FUNCTION
            elif b == _MATCH_ROM:
                self._phase = _MATCH
                self._n = 0
            elif b == _READ_ROM:
                self._shift_out(self.rom)
            else:  # Search ROM / Alarm Search need bit slots; bus.scan() answers instead
                self._phase = _IDLE
        elif phase == _MATCH:
            self._in[self._n] = b
            self._n += 1
            if self._n == 8:
                self._phase = _FUNCTION if self._in == self.rom else _IDLE
        elif phase == _FUNCTION:
            self._function(b)
        elif phase == _WRITE:
            self._in[self._n] = b
            self._n += 1
            if self._n == 3:
                self._pad[2] = self._in[0]
                self._pad[3] = self._in[1]
                self._pad[4] = (self._in[2] & 0x60) | 0x1F  # only R1 R0 are writable
                self._phase = _IDLE

    def _function(self, b):
        if b == _CONVERT_T:
            bits = (self._pad[4] >> 5) & 3
            self._due_ms = self._clock.now_ms + _CONVERSION_MS[bits]
            self._phase = _BUSY
        elif b == _READ_SCRATCHPAD:
            self._pad_with_crc()
        elif b == _WRITE_SCRATCHPAD:
            self._phase = _WRITE
            self._n = 0
        elif b == _COPY_SCRATCHPAD:
            self._eeprom[:] = self._pad[2:5]
            self._phase = _IDLE
        elif b == _RECALL_E2:
            self._pad[2:5] = self._eeprom
            self._phase = _IDLE
        elif b == _READ_POWER:
            self._phase = _READ  # externally powered: read slots return 1s
            self._n = 9
        else:
            self._phase = _IDLE

    def _pad_with_crc(self):
        out = self._out
        out[:8] = self._pad
        out[8] = crc8(self._pad)
        self._phase = _READ
        self._n = 0

    def _shift_out(self, data):
        self._out[: len(data)] = data
        self._out[len(data)] = crc8(data)  # only read when a driver over-reads the ROM
        self._phase = _READ
        self._n = 0

    def send(self):
        self._sync()
        if self._phase == _READ and self._n < 9:
            b = self._out[self._n]
            self._n += 1
            return b
        if self._phase == _BUSY:
            return 0xFF if self._due_ms is None else 0x00
        return 0xFF

    def state(self):
        return [list(self._pad), list(self._eeprom)]

    def restore(self, s):
        self._pad = bytearray(s[0])
        self._eeprom = bytearray(s[1])


# ---- SPI -------------------------------------------------------------------------------------


class SPIBus(SpiOps):
    """machine.SPI subset: a transfer reaches the one device whose chip select is low; with
    none selected MISO floats high (0xFF) and a write goes nowhere."""

    def __init__(self):
        self.devices = []  # (chip-select SimPin, device with transfer(wbuf, rbuf))

    def _transfer(self, wbuf, rbuf):
        for cs, dev in self.devices:
            if not cs.value():
                dev.transfer(wbuf, rbuf)
                return
        if rbuf is not None:
            for i in range(len(rbuf)):
                rbuf[i] = 0xFF


# MAX31865 registers and bits [S58].
_RTD_CONFIG = const(0)
_RTD_MSB = const(1)
_RTD_FAULT = const(7)
_VBIAS = const(0x80)
_AUTO = const(0x40)
_ONE_SHOT = const(0x20)
_FAULT_CLEAR = const(0x02)
_FILTER_50HZ = const(0x01)
_FAULT_HIGH = const(0x80)
_FAULT_LOW = const(0x40)


class MAX31865:
    """RTD-to-digital converter on an emulated SPI bus [S58].

    Register file 0..7 (config; RTD MSB, LSB; high and low fault thresholds; fault status),
    address byte first (bit 7 set: write), auto-incrementing. A 1-shot (config bit 5, with
    VBIAS on) converts for 62.5 ms (50 Hz filter) or 52 ms (60 Hz); auto mode converts back
    to back. A conversion stores the 15-bit ratio R_RTD / R_REF, left-aligned, and compares
    it with the thresholds: above the high one (an open RTD reads full scale) or at or below
    the low one (a shorted RTD reads 0) sets its fault status bit and the RTD LSB's fault
    flag, latched until a config write with the fault-clear bit. rtd: the sensor, with
    level() -> ohm.
    """

    def __init__(self, clock, r_ref_ohm, rtd):
        self._clock = clock
        self._r_ref_ohm = r_ref_ohm
        self.rtd = rtd
        self._regs = bytearray(8)
        self._regs[3] = self._regs[4] = 0xFF  # power-on thresholds [S58]
        self._due_ms = None

    def _convert(self):
        ohm = self.rtd.level()
        code = max(0, min(0x7FFF, int(ohm / self._r_ref_ohm * 32768 + 0.5)))
        regs = self._regs
        if code << 1 >= regs[3] << 8 | regs[4]:
            regs[_RTD_FAULT] |= _FAULT_HIGH
        if code << 1 <= regs[5] << 8 | regs[6]:
            regs[_RTD_FAULT] |= _FAULT_LOW
        word = code << 1 | (1 if regs[_RTD_FAULT] else 0)
        regs[_RTD_MSB] = word >> 8
        regs[_RTD_MSB + 1] = word & 0xFF
        if self._clock.trace is not None:
            self._clock.trace.sample(self.rtd, self._clock.now_ms, ohm)
        config = regs[_RTD_CONFIG]
        self._due_ms = self._clock.now_ms + self._conversion_ms() if config & _AUTO else None

    def _conversion_ms(self):
        return 62.5 if self._regs[_RTD_CONFIG] & _FILTER_50HZ else 52.0

    def transfer(self, wbuf, rbuf):
        if self._due_ms is not None and self._clock.now_ms >= self._due_ms:
            self._convert()
        writing = wbuf[0] & 0x80
        reg = wbuf[0] & 0x7F
        if rbuf is not None:
            rbuf[0] = 0xFF  # MISO is undefined while the address is clocked in
        for i in range(1, len(wbuf)):
            r = (reg + i - 1) & 7
            if writing:
                self._write(r, wbuf[i])
            elif rbuf is not None:
                rbuf[i] = self._regs[r]

    def _write(self, reg, value):
        if reg in (_RTD_MSB, _RTD_MSB + 1, _RTD_FAULT):
            return  # read-only
        if reg != _RTD_CONFIG:
            self._regs[reg] = value
            return
        if value & _FAULT_CLEAR:
            self._regs[_RTD_FAULT] = 0
        self._regs[_RTD_CONFIG] = value & ~(_ONE_SHOT | _FAULT_CLEAR)  # actions, not state
        if value & _VBIAS and value & (_ONE_SHOT | _AUTO):
            self._due_ms = self._clock.now_ms + self._conversion_ms()
        elif not value & _AUTO:
            self._due_ms = None

    def state(self):
        return list(self._regs)

    def restore(self, s):
        self._regs = bytearray(s)


# ---- pins ----------------------------------------------------------------------------------


class SimPin:
    """machine.Pin subset for an output; integrates the time it spent high for the plant.

    Each change of level is an edge in the truth trace (trace_id: the pin's index there);
    history, when a test sets it to a list, records every change of level.
    """

    def __init__(self, clock, level, trace_id=None):
        self._clock = clock
        self.trace_id = trace_id
        self.history = None
        self._level = level
        self._mark_ms = clock.now_ms
        self._high_ms = 0
        self._edges = False  # the level changed since the last high_share()

    def value(self, v=None):
        if v is None:
            return self._level
        v = 1 if v else 0
        if v != self._level:
            if self.history is not None:
                self.history.append(v)
            now = self._clock.now_ms
            if self._level:
                self._high_ms += now - self._mark_ms
            self._mark_ms = now
            self._level = v
            self._edges = True
            if self._clock.trace is not None and self.trace_id is not None:
                self._clock.trace.edge(self.trace_id, now, v)
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def high_share(self, now_ms, span_ms):
        """Share of the span_ms ending at now_ms the pin was high; starts the next span."""
        if not self._edges:  # the usual case: steady all span long
            self._mark_ms = now_ms
            return 1.0 if self._level else 0.0
        high = self._high_ms
        if self._level:
            high += now_ms - self._mark_ms
        self._high_ms = 0
        self._mark_ms = now_ms
        self._edges = False
        return high / span_ms
