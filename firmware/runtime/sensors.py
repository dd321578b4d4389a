# pilotedge: sensor inputs built from the board file, sampled without blocking (MIT).
#
# Every input has read(now_ms) -> value or None, with `fault` (drivers/fault.py) set, and
# `seq`, a count of its samples (wrapping at 16 bits), which says whether a read gave a new
# one (a stale input keeps its last). The
# ADS1115 inputs share one converter per chip: an AdcScan task starts one conversion per run
# and reads it on the next, round-robin over the (channel, range) slots the inputs need, so
# a full sweep takes _SWEEP_MS and no task ever waits for a conversion. 1-Wire and SPI
# thermometers are started and read one conversion time later the same way.
#
# The inputs are built from the board file by wiring.py, once at boot.

from compat import const
from drivers import fault

_SWEEP_MS = const(100)  # every ADC input refreshed at least at the 10 Hz of the canister monitor


class AdcScan:
    def __init__(self, adc):
        self._adc = adc
        self._slots = []  # (channel, fsr_mv)
        self.mv = []  # latest result per slot, None after a failed conversion
        self.fault = []
        self.seq = []  # conversions per slot
        self._i = 0
        self._pending = False

    def slot(self, channel, fsr_mv):
        # Index of the slot for this input, shared by every user of the same input.
        key = (channel, fsr_mv)
        if key not in self._slots:
            self._slots.append(key)
            self.mv.append(None)
            self.fault.append(fault.NOT_READY)
            self.seq.append(0)
        return self._slots.index(key)

    def period_ms(self):
        return max(self._adc.conversion_ms, _SWEEP_MS // max(1, len(self._slots)))

    def run(self, now_ms):
        adc = self._adc
        i = self._i
        if self._pending:
            self.mv[i] = adc.read_mv()
            self.fault[i] = adc.fault
            self.seq[i] = (self.seq[i] + 1) & 0xFFFF
            i = (i + 1) % len(self._slots)
            self._i = i
        channel, fsr_mv = self._slots[i]
        adc.start(channel, fsr_mv)
        self._pending = adc.fault == fault.NONE
        if not self._pending:
            self.mv[i] = None
            self.fault[i] = adc.fault
            self._i = (i + 1) % len(self._slots)


class AdcInput:
    # A voltage as it is (pH or ORP electrode mV).
    def __init__(self, scan, slot):
        self._scan = scan
        self._slot = slot
        self.fault = fault.NOT_READY
        self.seq = 0

    def read(self, now_ms):
        self.fault = self._scan.fault[self._slot]
        self.seq = self._scan.seq[self._slot]
        return self._scan.mv[self._slot]


class SupplyInput:
    # A signal read as a ratio of the supply on the same ADC: convert(signal_mv, supply_mv)
    # is a driver method (Ratiometric.value, NTC.temp_c) whose object sets `fault`.
    def __init__(self, scan, slot, supply_slot, converter, convert):
        self._scan = scan
        self._slot = slot
        self._supply = supply_slot
        self._converter = converter
        self._convert = convert
        self.fault = fault.NOT_READY
        self.seq = 0

    def read(self, now_ms):
        scan = self._scan
        self.seq = scan.seq[self._slot]
        v = self._convert(scan.mv[self._slot], scan.mv[self._supply])
        self.fault = self._converter.fault
        if scan.mv[self._slot] is None or scan.mv[self._supply] is None:
            # Say why: the bus, not the sensor.
            self.fault = scan.fault[self._slot] or scan.fault[self._supply]
        return v


class StartRead:
    # A thermometer with start()/read_c()/conversion_ms (DS18B20, MAX31865): read once its
    # conversion time has passed, start the next at once; between, the last result stands.
    def __init__(self, device, clock):
        self._dev = device
        self._clock = clock
        self._started_ms = None
        self.value = None
        self.fault = fault.NOT_READY
        self.seq = 0

    def read(self, now_ms):
        started = self._started_ms
        if started is None or self._clock.ticks_diff(now_ms, started) >= self._dev.conversion_ms:
            if started is not None:
                self.value = self._dev.read_c()
                self.fault = self._dev.fault
                self.seq = (self.seq + 1) & 0xFFFF
            self._dev.start()
            self._started_ms = now_ms
        return self.value
