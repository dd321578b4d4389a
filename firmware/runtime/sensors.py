# pilotedge: sensor inputs built from the board file, sampled without blocking (MIT).
#
# Every input has read(now_ms) -> value or None, with `fault` set (drivers/fault.py),
# `seq`, a count of its samples (wrapping at 16 bits), which says whether a read gave a new
# one (a stale input keeps its last), and `tau_ms`, the response time its board-file entry
# declares (tau_s; 0 when it gives none).
# The ADS1115 inputs share one converter per chip: an AdcScan task starts one conversion per
# run and reads it on the next, round-robin over the (channel, range) slots the inputs need,
# so a full sweep takes _SWEEP_MS and no task ever waits for a conversion. One slot may ask
# for a faster rate (a board-file "rate_hz", the canister's pressure): the scan then converts
# it every other time, between the others in turn, and runs often enough for that rate.
# 1-Wire and SPI thermometers are started and read one conversion time later the same way.
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
        self._fast = -1  # the slot converted every other time, -1: none
        self._fast_ms = 0  # its period
        self._slow = 0  # the other slot converted last

    def slot(self, channel, fsr_mv, rate_hz=0):
        # Index of the slot for this input, shared by every user of the same input; rate_hz
        # asks for that many conversions per second (the scan's one fast slot).
        key = (channel, fsr_mv)
        if key not in self._slots:
            self._slots.append(key)
            self.mv.append(None)
            self.fault.append(fault.NOT_READY)
            self.seq.append(0)
        i = self._slots.index(key)
        if rate_hz:
            self._fast = i
            self._fast_ms = 1000 // rate_hz
        return i

    def period_ms(self):
        n = max(1, len(self._slots))
        if self._fast >= 0 and n > 1:
            return max(self._adc.conversion_ms, self._fast_ms // 2)
        if self._fast >= 0:
            return max(self._adc.conversion_ms, self._fast_ms)
        return max(self._adc.conversion_ms, _SWEEP_MS // n)

    def _next(self, i):
        # The slot after i: the fast one after any other, else the next other one.
        n = len(self._slots)
        f = self._fast
        if f >= 0 and i != f:
            return f
        j = (self._slow + 1) % n
        if j == f:
            j = (j + 1) % n
        self._slow = j
        return j

    def run(self, now_ms):
        adc = self._adc
        i = self._i
        if self._pending:
            self.mv[i] = adc.read_mv()
            self.fault[i] = adc.fault
            self.seq[i] = (self.seq[i] + 1) & 0xFFFF
            i = self._i = self._next(i)
        channel, fsr_mv = self._slots[i]
        adc.start(channel, fsr_mv)
        self._pending = adc.fault == fault.NONE
        if not self._pending:
            self.mv[i] = None
            self.fault[i] = adc.fault
            self._i = self._next(i)


class AdcInput:
    # A voltage as it is (pH or ORP electrode mV).
    tau_ms = 0

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
    # A signal converted by a driver method: convert(signal_mv, supply_mv) (Ratiometric.value,
    # NTC.temp_c; supply_slot None for a signal not referred to a supply, drivers/linear.py),
    # whose object sets `fault`.
    tau_ms = 0

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
        mv = scan.mv[self._slot]
        supply = self._supply
        supply_mv = None if supply is None else scan.mv[supply]
        v = self._convert(mv, supply_mv)
        self.fault = self._converter.fault
        # A conversion that failed: say why (the bus, not the sensor).
        if mv is None:
            self.fault = scan.fault[self._slot]
        elif supply is not None and supply_mv is None:
            self.fault = scan.fault[supply]
        return v


class StartRead:
    # A thermometer with start()/read_c()/conversion_ms (DS18B20, MAX31865): read once its
    # conversion time has passed, start the next at once; between, the last result stands.
    tau_ms = 0

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
