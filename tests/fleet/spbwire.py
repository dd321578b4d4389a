"""A second Sparkplug B payload reader, written from the specification's field numbers on the
bare protobuf wire format: no generated code, no protobuf library. The tests read what the
bridge publishes with it, so a payload only our own decoder could read would fail them."""

import struct

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5
SIGNED32 = {1, 2, 3}  # Int8, Int16, Int32 travel as 32-bit two's complement
INT64 = 4


def _varint(buf, i):
    value = shift = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def fields(buf):
    """(field number, wire type, value) of each field of a message, in order."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, i = _varint(buf, i)
        elif wire == _FIXED64:
            value, i = buf[i:i + 8], i + 8
        elif wire == _FIXED32:
            value, i = buf[i:i + 4], i + 4
        elif wire == _LEN:
            size, i = _varint(buf, i)
            value, i = buf[i:i + size], i + size
        else:
            raise ValueError("wire type %d" % wire)
        yield number, wire, value


def _signed(value, bits):
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def _value(number, raw, datatype):
    if number in (3, 10):  # int_value (property 3, metric 10)
        return _signed(raw, 32) if datatype in SIGNED32 else raw
    if number in (4, 11):  # long_value
        return _signed(raw, 64) if datatype == INT64 else raw
    if number in (5, 12):
        return struct.unpack("<f", raw)[0]
    if number in (6, 13):
        return struct.unpack("<d", raw)[0]
    if number in (7, 14):
        return bool(raw)
    if number in (8, 15):
        return raw.decode()
    return bytes(raw)


def _property_value(buf):
    out = {"type": None, "is_null": False, "value": None}
    raw = None
    for number, _wire, value in fields(buf):
        if number == 1:
            out["type"] = value
        elif number == 2:
            out["is_null"] = bool(value)
        elif 3 <= number <= 8:
            raw = (number, value)
    if raw and not out["is_null"]:
        out["value"] = _value(raw[0], raw[1], out["type"])
    return out


def metric(buf):
    out = {"name": None, "datatype": None, "timestamp": None, "is_historical": False,
           "is_null": False, "value": None, "properties": {}}
    raw = None
    for number, _wire, value in fields(buf):
        if number == 1:
            out["name"] = value.decode()
        elif number == 3:
            out["timestamp"] = value
        elif number == 4:
            out["datatype"] = value
        elif number == 5:
            out["is_historical"] = bool(value)
        elif number == 7:
            out["is_null"] = bool(value)
        elif number == 9:
            keys, values = [], []
            for n, _w, v in fields(value):
                (keys if n == 1 else values).append(v.decode() if n == 1 else _property_value(v))
            out["properties"] = dict(zip(keys, values, strict=True))
        elif 10 <= number <= 16:
            raw = (number, value)
    if raw and not out["is_null"]:
        out["value"] = _value(raw[0], raw[1], out["datatype"])
    return out


def payload(buf):
    """{timestamp, seq, metrics: [metric dicts]} of a Sparkplug B payload."""
    out = {"timestamp": None, "seq": None, "metrics": []}
    for number, _wire, value in fields(buf):
        if number == 1:
            out["timestamp"] = value
        elif number == 2:
            out["metrics"].append(metric(value))
        elif number == 3:
            out["seq"] = value
    return out
