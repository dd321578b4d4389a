# pilotedge: what the board file asks for, made once at boot: outputs, sensor inputs (MIT).
#
# app.Runtime imports this module for its build and drops it again (as boardfile drops
# boardcheck): it runs once per boot, and its code is then free heap for the runtime. A
# driver module is imported by the builder of its board-file "driver" name, so a board
# loads only the drivers it uses (each costs 2-4 KB of heap on the 64-bit Unix port).

from drivers.outputs import DigitalOutput, TimeProportionedOutput
from pilotproto import messages as m
from runtime import sensors, store
from runtime.safety import FAULT_WATCHDOG


def outputs(hal, board):
    # {output name: driver output}, every one created de-energised.
    heater_max_pct = board["hw_limits"]["heater_max_pct"]
    return {name: _output(hal, e, heater_max_pct) for name, e in board["outputs"].items()}


def _output(hal, entry, heater_max_pct):
    # One output, created de-energised (drivers/outputs.py); only the heater has a window.
    pin = hal.pin(entry["pin"])
    if "window_ms" in entry:
        return TimeProportionedOutput(
            pin,
            entry["active_high"],
            entry["deadman_ms"],
            hal.clock,
            entry["window_ms"],
            heater_max_pct,
        )
    return DigitalOutput(pin, entry["active_high"], entry["deadman_ms"], hal.clock)


def _ads(hal, clock, scans, entry):
    scan = scans[entry["adc"]]
    slot = scan.slot(entry["channel"], entry["fsr_mv"])
    if entry["kind"] != "ratiometric":
        return sensors.AdcInput(scan, slot)
    from drivers.analog import Ratiometric

    lo, hi = entry["range_bar"]
    conv = Ratiometric(lo, hi)
    supply = scan.slot(entry["supply_channel"], entry["fsr_mv"])
    return sensors.SupplyInput(scan, slot, supply, conv, conv.value)


def _ntc(hal, clock, scans, entry):
    from drivers.analog import NTC

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
    return sensors.SupplyInput(scan, slot, supply, conv, conv.temp_c)


def _ds18b20(hal, clock, scans, entry):
    import binascii

    from drivers.ds18b20 import DS18B20

    rom = entry.get("rom")
    dev = DS18B20(hal.onewire(entry["bus"]), binascii.unhexlify(rom) if rom else None)
    return sensors.StartRead(dev, clock)


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
    return sensors.StartRead(dev, clock)


_BUILDERS = {"ads1115": _ads, "ntc": _ntc, "ds18b20": _ds18b20, "max31865": _max31865}


def inputs(hal, board):
    # ({sensor name: input}, {adc name: AdcScan}) for every sensor a unit uses.
    from drivers.ads1115 import ADS1115

    scans = {}
    for name, adc in board["adc"].items():
        dev = ADS1115(hal.i2c(adc["bus"]), adc["addr"], adc.get("sps", 128))
        scans[name] = sensors.AdcScan(dev)
    used = []  # the sensors that units name, in unit order (spec: UNIT_KINDS)
    sensor_names = board["sensors"]
    for _kind, section, _hello in m.UNIT_KINDS:
        for unit in board["units"].get(section, ()):
            for key, name in unit.items():
                if key != "name" and name in sensor_names and name not in used:
                    used.append(name)
    inputs = {}
    for name in used:
        entry = board["sensors"][name]
        inputs[name] = _BUILDERS[entry["driver"]](hal, hal.clock, scans, entry)
    return inputs, {name: scan for name, scan in scans.items() if scan.mv}


def boot_events(rt):
    # The EVENTs that report how this boot went: reset cause, lost state, config source.
    ev = rt.events
    data = rt.state.data
    ev.push(
        m.UNIT_BOARD,
        m.EVENT_KIND_INFO,
        m.EVENT_BOOT,
        m.SEVERITY_INFO,
        data["boot"] * 1000,
        data["reset"] * 1000,
    )
    if data["reset"] == m.RESET_WATCHDOG:
        rt.safety.faults |= FAULT_WATCHDOG
        ev.push(m.UNIT_BOARD, m.EVENT_KIND_RAISED, m.EVENT_WATCHDOG_RESET, m.SEVERITY_ALARM)
    if rt.state.lost:
        # value 2: the state record (boot count, latched trips: canisters start tripped).
        ev.push(m.UNIT_BOARD, m.EVENT_KIND_RAISED, m.EVENT_CONFIG_DEFAULTS, m.SEVERITY_ALARM, 2000)
    p = rt.params
    if p.invalid:
        ev.push(
            m.UNIT_BOARD,
            m.EVENT_KIND_RAISED,
            m.EVENT_CONFIG_INVALID,
            m.SEVERITY_ALARM,
            p.invalid * 1000,
        )
    if p.source >= store.BACKUP:
        # value: 1 = the last good copy, 0 = the defaults.
        ev.push(
            m.UNIT_BOARD,
            m.EVENT_KIND_RAISED,
            m.EVENT_CONFIG_DEFAULTS,
            m.SEVERITY_ALARM,
            1000 if p.source == store.BACKUP else 0,
        )
