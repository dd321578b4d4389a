"""Sparkplug B topics and payloads (Eclipse Sparkplug 3.0), on Google's protobuf runtime.

    from pilotedge import sparkplug as spb

    data = spb.encode([spb.Metric("v0/ph", spb.DOUBLE, 1.712, unit="pH")], seq=4)
    spb.decode(data).metrics[0].value        # 1.712

A topic is spBv1.0/<group>/<type>/<edge node>[/<device>]. pilotedge.sparkplug.metrics says
what a board and the rows of its log are as metrics.
"""

import time
from typing import NamedTuple

from ..errors import UsageError
from . import sparkplug_b_pb2 as pb

NAMESPACE = "spBv1.0"
TYPES = ("NBIRTH", "NDEATH", "DBIRTH", "DDEATH", "NDATA", "DDATA", "NCMD", "DCMD", "STATE")

# DataType values (the specification's).
INT8, INT16, INT32, INT64 = pb.Int8, pb.Int16, pb.Int32, pb.Int64
UINT8, UINT16, UINT32, UINT64 = pb.UInt8, pb.UInt16, pb.UInt32, pb.UInt64
FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME, TEXT = (pb.Float, pb.Double, pb.Boolean, pb.String,
                                                  pb.DateTime, pb.Text)
# Signed types, and the width their two's complement is stored in (Int8 and Int16 widened
# to the 32 bits of int_value).
_SIGNED_BITS = {INT8: 32, INT16: 32, INT32: 32, INT64: 64}
_INT32 = (INT8, INT16, INT32, UINT8, UINT16, UINT32)
_INT64 = (INT64, UINT64, DATETIME)
_TEXTS = (STRING, TEXT, pb.UUID)


class Metric(NamedTuple):
    """One metric: value None is a null (a reading the board does not vouch for). unit: the
    engineering unit, sent as the property engUnit (Ignition's name for it); more: other
    properties by key."""

    name: str
    datatype: int
    value: object = None
    timestamp_ms: int | None = None
    historical: bool = False
    unit: str | None = None
    more: dict | None = None


class Payload(NamedTuple):
    timestamp_ms: int | None
    seq: int | None
    metrics: list


class Topic(NamedTuple):
    group: str
    type: str
    node: str
    device: str | None


def now_ms():
    return int(time.time() * 1000)


def topic(group, kind, node, device=None):
    return "/".join([NAMESPACE, group, kind, node] + ([device] if device else []))


def parse_topic(text):
    """A Topic of a Sparkplug topic, or None for any other topic."""
    parts = text.split("/")
    if len(parts) not in (4, 5) or parts[0] != NAMESPACE or parts[2] not in TYPES:
        return None
    return Topic(parts[1], parts[2], parts[3], parts[4] if len(parts) == 5 else None)


def check_id(text, what):
    """An id fit for a topic level: no /, + or #, not empty; UsageError otherwise."""
    if not text or any(c in text for c in "/+#"):
        raise UsageError("%s %r cannot be a Sparkplug id: it must be non-empty, without "
                         "/, + or #" % (what, text))
    return text


def encode(metrics, seq=None, timestamp_ms=None):
    """The bytes of a payload of Metrics."""
    out = pb.Payload()
    out.timestamp = now_ms() if timestamp_ms is None else timestamp_ms
    if seq is not None:
        out.seq = seq
    for metric in metrics:
        _fill(out.metrics.add(), metric)
    return out.SerializeToString()


def _fill(m, metric):
    m.name = metric.name
    m.datatype = metric.datatype
    if metric.timestamp_ms is not None:
        m.timestamp = metric.timestamp_ms
    if metric.historical:
        m.is_historical = True
    props = dict(metric.more or {})
    if metric.unit is not None:
        props["engUnit"] = metric.unit
    for key, value in props.items():
        m.properties.keys.append(key)
        _property(m.properties.values.add(), value)
    value = metric.value
    if value is None:
        m.is_null = True
        return
    dt = metric.datatype
    if dt in _INT32:
        m.int_value = int(value) & 0xFFFFFFFF
    elif dt in _INT64:
        m.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
    elif dt == FLOAT:
        m.float_value = float(value)
    elif dt == DOUBLE:
        m.double_value = float(value)
    elif dt == BOOLEAN:
        m.boolean_value = bool(value)
    elif dt in _TEXTS:
        m.string_value = str(value)
    else:
        m.bytes_value = bytes(value)


def _property(p, value):
    if value is None:
        p.type, p.is_null = STRING, True
    elif isinstance(value, bool):
        p.type, p.boolean_value = BOOLEAN, value
    elif isinstance(value, int):
        p.type, p.long_value = INT64, value & 0xFFFFFFFFFFFFFFFF
    elif isinstance(value, float):
        p.type, p.double_value = DOUBLE, value
    else:
        p.type, p.string_value = STRING, str(value)


def decode(data):
    """A Payload of Metrics from bytes; UsageError for bytes that are no Sparkplug payload."""
    msg = pb.Payload()
    try:
        msg.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise UsageError("not a Sparkplug B payload: %s" % exc) from None
    metrics = []
    for m in msg.metrics:
        props = {key: _property_value(v) for key, v in zip(m.properties.keys,
                                                           m.properties.values, strict=False)}
        unit = props.pop("engUnit", None)
        metrics.append(Metric(m.name, m.datatype, _value(m),
                              m.timestamp if m.HasField("timestamp") else None,
                              m.is_historical, unit, props or None))
    return Payload(msg.timestamp if msg.HasField("timestamp") else None,
                   msg.seq if msg.HasField("seq") else None, metrics)


def _value(m):
    if m.is_null:
        return None
    which = m.WhichOneof("value")
    if which is None:
        return None
    value = getattr(m, which)
    bits = _SIGNED_BITS.get(m.datatype)
    if bits and value >> (bits - 1) & 1:
        value -= 1 << bits
    return value


def _property_value(p):
    if p.is_null:
        return None
    which = p.WhichOneof("value")
    value = getattr(p, which) if which else None
    if p.type == INT64 and isinstance(value, int) and value >> 63:
        value -= 1 << 64
    return value
