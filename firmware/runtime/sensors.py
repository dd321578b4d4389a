# pilotedge: sensor inputs built from the board file, sampled without blocking (MIT).
#
# Every input has read(now_ms) -> value or None, with `fault` (drivers/fault.py) set. The
# ADS1115 inputs share one converter per chip: an AdcScan task starts one conversion per run
# and reads it on the next, round-robin over the (channel, range) slots the inputs need, so
# a full sweep takes _SWEEP_MS and no task ever waits for a conversion. 1-Wire and SPI
# thermometers are started and read one conversion time later the same way.
#
# A driver module is imported by the builder of its board-file "driver" name, so a board
# loads only the drivers it uses (each costs 2-4 KB of heap on the 64-bit Unix port).

from compat import const
from drivers import fault

_SWEEP_MS = const(100)  # every ADC input refreshed at least at the 10 Hz of the canister monitor


class AdcScan:
    def __init__(self, adc):
        self._adc = adc
        self._slots = []  # (channel, fsr_mv)
        self.mv = []  # latest result per slot, None after a failed conversion
        self.fault = []
        self._i = 0
        self._pending = False

    def slot(self, channel, fsr_mv):
        # Index of the slot for this input, shared by every user of the same input.
        key = (channel, fsr_mv)
        if key not in self._slots:
            self._slots.append(key)
            self.mv.append(None)
            self.fault.append(fault.NOT_READY)
        return self._slots.index(key)

    def period_ms(self):
        return max(self._adc.conversion_ms, _SWEEP_MS // max(1, len(self._slots)))

    def run(self, now_ms):
        adc = self._adc
        i = self._i
        if self._pending:
            self.mv[i] = adc.read_mv()
            self.fault[i] = adc.fault
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

    def read(self, now_ms):
        self.fault = self._scan.fault[self._slot]
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

    def read(self, now_ms):
        scan = self._scan
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

    def read(self, now_ms):
        started = self._started_ms
        if started is None or self._clock.ticks_diff(now_ms, started) >= self._dev.conversion_ms:
            if started is not None:
                self.value = self._dev.read_c()
                self.fault = self._dev.fault
            self._dev.start()
            self._started_ms = now_ms
        return self.value


def _ads(hal, clock, scans, entry):
    scan = scans[entry["adc"]]
    slot = scan.slot(entry["channel"], entry["fsr_mv"])
    if entry["kind"] != "ratiometric":
        return AdcInput(scan, slot)
    from drivers.ratiometric import Ratiometric

    lo, hi = entry["range_bar"]
    conv = Ratiometric(lo, hi)
    supply = scan.slot(entry["supply_channel"], entry["fsr_mv"])
    return SupplyInput(scan, slot, supply, conv, conv.value)


def _ntc(hal, clock, scans, entry):
    from drivers.ntc import NTC

    scan = scans[entry["adc"]]
    slot = scan.slot(entry["channel"], entry["fsr_mv"])
    supply = scan.slot(entry["supply_channel"], entry["fsr_mv"])
    conv = NTC(
        entry["r_series_ohm"],
        entry["r0_ohm"],
        entry["beta_k"],
        entry.get("sh"),
        entry.get("ntc_side", "low"),
    )
    return SupplyInput(scan, slot, supply, conv, conv.temp_c)


def _ds18b20(hal, clock, scans, entry):
    import binascii

    from drivers.ds18b20 import DS18B20

    rom = entry.get("rom")
    dev = DS18B20(hal.onewire(entry["bus"]), binascii.unhexlify(rom) if rom else None)
    return StartRead(dev, clock)


def _max31865(hal, clock, scans, entry):
    from drivers.max31865 import MAX31865

    dev = MAX31865(
        hal.spi(entry["bus"]),
        hal.pin(entry["cs"]),
        entry["r_ref_ohm"],
        entry["r0_ohm"],
        entry["wires"],
        entry.get("filter_hz", 50),
    )
    return StartRead(dev, clock)


_BUILDERS = {"ads1115": _ads, "ntc": _ntc, "ds18b20": _ds18b20, "max31865": _max31865}


def build(hal, board):
    # ({sensor name: input}, {adc name: AdcScan}) for every sensor a unit uses.
    from drivers.ads1115 import ADS1115

    scans = {}
    for name, adc in board["adc"].items():
        dev = ADS1115(hal.i2c(adc["bus"]), adc["addr"], adc.get("sps", 128))
        scans[name] = AdcScan(dev)
    used = []
    units = board["units"]
    for unit in units.get("vessels", []) + units.get("canisters", []):
        for role in ("ph", "orp", "temp", "pressure", "shell", "ambient"):
            if role in unit and unit[role] not in used:
                used.append(unit[role])
    inputs = {}
    for name in used:
        entry = board["sensors"][name]
        inputs[name] = _BUILDERS[entry["driver"]](hal, hal.clock, scans, entry)
    return inputs, {name: scan for name, scan in scans.items() if scan.mv}
