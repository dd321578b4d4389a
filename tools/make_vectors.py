"""Write the golden frames in protocol/vectors/*.json from protocol/spec/messages.toml.

Frames are built here with struct, crcmod and the `cobs` package, not with pilotproto.framing,
so the vectors check the shared codec instead of echoing it. Each entry has name, message,
seq, flags, fields (engineering values as pilotproto.convert.from_raw gives them, enums by
member name) and frame (hex of the whole frame including the trailing 00).
`--check` exits 1 when the committed files are stale (run by the tests).
"""

import argparse
import json
import struct
import sys

import crcmod.predefined
from cobs import cobs

from gen_protocol import ROOT, fixed_fmt, load_spec, raw_bounds, schema_hash
from pilotproto import convert

OUT_DIR = ROOT / "protocol" / "vectors"
_FILL = b"Z"  # string filler: non-zero, and printable in the JSON


def typical(spec):
    """One or two realistic instances of every message, negative values included."""
    h = schema_hash(spec)
    v = spec["protocol"]["version"]
    return [
        (
            "hello",
            "HELLO",
            {
                "board_id": "vessel-rig-01",
                "fw_major": 0,
                "fw_minor": 3,
                "fw_patch": 1,
                "proto_version": v,
                "schema_hash": h,
                "boot_count": 42,
                "reset_cause": "WATCHDOG",
                "vessels": 2,
                "canisters": 1,
                "uptime": 3600.5,
            },
        ),
        (
            "heartbeat",
            "HEARTBEAT",
            {
                "uptime": 12.345,
                "state": "RUN",
                "faults": 0,
                "overruns": 3,
                "cycle_max": 12.7,
                "heap_free": 81234,
                "rx_errors": 2,
            },
        ),
        (
            "vessel",
            "VESSEL",
            {
                "unit": 1,
                "ph": 1.712,
                "temp": 35.27,
                "orp": 612,
                "ph_sp": 1.7,
                "temp_sp": 35.0,
                "ph_mode": "AUTO",
                "temp_mode": "AUTO",
                "outputs": 5,
                "heater": 42,
                "acid_total": 12.345,
                "base_total": 0.5,
                "acid_hour": 2.0,
                "acid_day": 12.345,
                "base_hour": 0.0,
                "base_day": 0.5,
                "acid_res": 987.655,
                "base_res": -0.001,
                "sensor_ok": 7,
                "alarms": 0,
                "cal": 0b010101,
                "fe_ratio": 1.234,
                "batch": 1,
                "batch_acid": 152.5,
                "batch_base": 0.75,
                "batch_heat": 5712.34,
            },
        ),
        (
            "vessel_negative",
            "VESSEL",
            {
                "unit": 0,
                "ph": -0.25,
                "temp": -5.5,
                "orp": -250,
                "ph_sp": 1.7,
                "temp_sp": 35.0,
                "ph_mode": "MANUAL",
                "temp_mode": "OFF",
                "outputs": 0,
                "heater": 0,
                "acid_total": 0.0,
                "base_total": 0.0,
                "acid_hour": 536870.912,
                "acid_day": 536870.912,
                "base_hour": 0.0,
                "base_day": 0.0,
                "acid_res": 0.0,
                "base_res": -0.001,
                "sensor_ok": 2,
                "alarms": 1 << 20,
                "cal": 0,
                "fe_ratio": -2.5,
                "batch": 0,
                "batch_acid": 0.0,
                "batch_base": 0.0,
                "batch_heat": 0.0,
            },
        ),
        (
            "canister",
            "CANISTER",
            {
                "unit": 0,
                "pressure": 17.532,
                "shell_temp": 42.1,
                "ambient_temp": 21.5,
                "soc": 63.4,
                "soc_valid": "COUNTED",
                "state": "CHARGING",
                "valve_open": 1,
                "sensor_ok": 31,
                "alarms": 0,
                "soc_low": 61.2,
                "soc_high": 65.0,
                "shell_est": 42.6,
                "shell2_temp": 41.9,
                "flow": 3.75,
                "inlet_duty": 18,
                "trip_eta": 65535,
                "leak": 0.0,
            },
        ),
        (
            "canister_negative",
            "CANISTER",
            {
                "unit": 1,
                "pressure": -0.25,
                "shell_temp": -3.75,
                "ambient_temp": -12.5,
                "soc": 0.0,
                "soc_valid": "BAND",
                "state": "DISCHARGING",
                "valve_open": 0,
                "sensor_ok": 5,
                "alarms": 3,
                "soc_low": 0.0,
                "soc_high": 100.0,
                "shell_est": -3.5,
                "shell2_temp": -327.68,
                "flow": -1.25,
                "inlet_duty": 0,
                "trip_eta": 0,
                "leak": -0.5,
            },
        ),
        (
            "event",
            "EVENT",
            {
                "unit": 0,
                "kind": "RAISED",
                "code": "PH_HIGH",
                "severity": "ALARM",
                "value": 2.41,
                "limit": 2.3,
                "uptime": 100.0,
            },
        ),
        (
            "event_negative",
            "EVENT",
            {
                "unit": 1,
                "kind": "LATCHED",
                "code": "TEMP_LOW",
                "severity": "WARNING",
                "value": -3.2,
                "limit": 5.0,
                "uptime": 7.25,
            },
        ),
        (
            "command_dose",
            "COMMAND",
            {"cmd_id": 0xDEADBEEF, "unit": 1, "verb": "DOSE", "arg0": 0, "arg1": 5000},
        ),
        (
            "command_negative",
            "COMMAND",
            {"cmd_id": 1, "unit": 0, "verb": "SET_OUTPUT", "arg0": 2, "arg1": -1},
        ),
        (
            "ack_in_progress",
            "ACK",
            {
                "cmd_id": 0xDEADBEEF,
                "verb": "DOSE",
                "result": "IN_PROGRESS",
                "reason": "NONE",
                "progress": 40,
                "value": 2000,
            },
        ),
        (
            "ack_rejected",
            "ACK",
            {
                "cmd_id": 2,
                "verb": "DOSE",
                "result": "REJECTED",
                "reason": "LIMIT",
                "progress": 255,
                "value": -1,
            },
        ),
        ("param_get", "PARAM_GET", {"unit": 0, "name": "ph_sp", "index": 0}),
        ("param_set", "PARAM_SET", {"unit": 0, "name": "p_msl", "value": 35000}),
        (
            "param_value_refused",
            "PARAM_VALUE",
            {
                "unit": 0,
                "name": "p_msl",
                "value": 28000,
                "index": 14,
                "count": 19,
                "result": "OUT_OF_RANGE",
            },
        ),
        (
            "cal_ph_two_points",
            "CAL",
            {
                "unit": 0, "kind": "PH", "points": 2, "health": "GOOD", "expired": 0,
                "slope": 95.893, "offset": 8.151, "alk_slope": 95.893, "alk_offset": 8.151,
                "break_ph": 7.0, "rate": 0.0,
                "ref1": 4.006, "read1": 178.0, "temp1": 25.0,
                "ref2": 1.68, "read2": 309.953, "temp2": 25.0,
                "ref3": 0.0, "read3": 0.0, "temp3": 0.0,
                "wall_time": 1767225600, "age": 12.5, "life": 720,
            },
        ),
        ("time", "TIME", {"unix": 1767225600}),
        ("log", "LOG", {"level": "INFO", "text": "boot: config v3 loaded"}),
        ("log_utf8", "LOG", {"level": "WARNING", "text": "\u0394pH 0.05 in 60 s at 35 \u00b0C"}),
    ]


def text_room(spec, msg):
    """Bytes left for a text tail after the fixed fields of msg."""
    proto = spec["protocol"]
    fixed = struct.calcsize(fixed_fmt(msg))
    return proto["max_body"] - struct.calcsize(proto["header"]) - 4 - fixed


def raw_case(spec, msg, pick, full):
    """Raw values of msg: pick(lo, hi) for numbers; strings and text full or empty."""
    out = []
    for f in msg["fields"]:
        code = f["type"]
        bounds = raw_bounds(code)
        if bounds:
            out.append(pick(*bounds))
        elif not full:
            out.append(b"")
        elif code == "text":
            out.append(_FILL * text_room(spec, msg))
        else:
            out.append(_FILL * struct.calcsize(code))
    return out


def extremes(spec):
    """Every field at its type minimum, at its maximum, and all zeros, for every message."""
    cases = []
    for msg in spec["message"]:
        name = msg["name"]
        low = raw_case(spec, msg, lambda lo, hi: lo, False)
        high = raw_case(spec, msg, lambda lo, hi: hi, True)
        zeros = raw_case(spec, msg, lambda lo, hi: 0, False)
        cases.append((name.lower() + "_min", name, low, 0, 0))
        cases.append((name.lower() + "_max", name, high, 255, 255))
        if zeros != low:  # all-unsigned messages: the minimum already is all zeros
            cases.append((name.lower() + "_zeros", name, zeros, 0, 0))
    return cases


def edges(spec, crc):
    """Frames at the edges of the framing: longest body, a full 254-byte COBS block."""
    log = next(m for m in spec["message"] if m["name"] == "LOG")
    longest = text_room(spec, log)
    cases = [("log_longest_254_byte_body", "LOG", [1, b"x" * (longest - 1) + b"!"], 7, 0)]
    # A body of 254 non-zero bytes is one full COBS block (code 0xFF) and no more: pick the
    # first filler whose CRC bytes are also non-zero.
    for fill in range(0x41, 0x7F):
        raw = [2, bytes([fill]) * longest]
        if 0 not in body_of(spec, log, raw, 1, 1, crc):
            cases.append(("log_cobs_run_254_nonzero", "LOG", raw, 1, 1))
            break
    cases.append(("log_empty_text", "LOG", [0, b""], 255, 0))
    cases.append(("log_zero_bytes_in_text", "LOG", [1, b"a\x00\x00b"], 3, 0))
    return cases


def body_of(spec, msg, raw, seq, flags, crc):
    proto = spec["protocol"]
    body = struct.pack(proto["header"], proto["version"], msg["id"], seq, flags)
    fixed = [v for f, v in zip(msg["fields"], raw, strict=True) if f["type"] != "text"]
    body += struct.pack(fixed_fmt(msg), *fixed)
    if msg["fields"][-1]["type"] == "text":
        body += raw[-1]
    return body + struct.pack("<I", crc(body))


def frame_of(spec, msg, raw, seq, flags, crc):
    body = body_of(spec, msg, raw, seq, flags, crc)
    encoded = cobs.encode(body)
    if len(body) > spec["protocol"]["max_body"] or len(encoded) != len(body) + 1:
        raise ValueError("%s: body of %d bytes breaks the size rule" % (msg["name"], len(body)))
    return encoded + b"\x00"


def entry(spec, crc, name, msg_name, raw, seq, flags):
    msg = next(m for m in spec["message"] if m["name"] == msg_name)
    return {
        "name": name,
        "message": msg_name,
        "seq": seq,
        "flags": flags,
        "fields": convert.from_raw(msg["id"], raw),
        "frame": frame_of(spec, msg, raw, seq, flags, crc).hex(),
    }


def build(spec):
    """File name -> list of vector entries."""
    crc = crcmod.predefined.mkPredefinedCrcFun(spec["protocol"]["crc"])
    ids = {m["name"]: m["id"] for m in spec["message"]}
    files = {"messages.json": [], "extremes.json": [], "edges.json": []}
    for i, (name, msg_name, fields) in enumerate(typical(spec)):
        raw = convert.to_raw(ids[msg_name], fields)
        files["messages.json"].append(entry(spec, crc, name, msg_name, raw, (i * 37) & 0xFF, 0))
    for case in extremes(spec):
        files["extremes.json"].append(entry(spec, crc, *case))
    for case in edges(spec, crc):
        files["edges.json"].append(entry(spec, crc, *case))
    return {name: json.dumps(entries, indent=1) + "\n" for name, entries in files.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the vectors are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, text in build(load_spec()).items():
        path = OUT_DIR / name
        if (path.read_text() if path.exists() else None) != text:
            stale.append(name)
            if not args.check:
                OUT_DIR.mkdir(exist_ok=True)
                path.write_text(text)
    if args.check and stale:
        print(
            "make_vectors: stale: %s; run python tools/make_vectors.py" % ", ".join(stale),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
