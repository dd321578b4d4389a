"""Engineering values <-> raw wire values, driven by the generated schema tables.

Shared by the host codec and the golden-vector tests on both interpreters, so there is one
place where scales, enum names and strings are interpreted. Not needed on the boards.
"""

from . import messages as m
from . import schema as s
from .framing import RANGES, EncodeError


def _digits(scale):
    # Decimal places of a scale such as 0.001 -> 3, so 1700 * 0.001 prints as 1.7.
    d = 0
    while scale < 1 and d < 9:
        scale *= 10
        d += 1
    return d


def _enum_value(enum, value, where):
    if isinstance(value, str):
        for num, name in s.ENUMS[enum].items():
            if name == value:
                return num
        raise EncodeError("%s: %r is not a member of %s" % (where, value, enum))
    return value


def to_raw(msg_id, fields):
    """Raw wire values (spec order) from a dict of engineering values; EncodeError if bad."""
    spec = s.FIELDS.get(msg_id)
    if spec is None:
        raise EncodeError("unknown message id %r" % (msg_id,))
    name = m.MESSAGES[msg_id][0]
    out = []
    for fname, code, scale, unit, enum, _bits in spec:
        where = "%s.%s" % (name, fname)
        if fname not in fields:
            raise EncodeError("%s is missing" % where)
        v = fields[fname]
        if code == "text" or code.endswith("s"):
            if isinstance(v, str):
                v = v.encode()
            if not isinstance(v, (bytes, bytearray)):
                raise EncodeError("%s must be text" % where)
            out.append(bytes(v))
            continue
        if enum is not None:
            v = _enum_value(enum, v, where)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise EncodeError("%s must be a number, got %r" % (where, v))
        raw = int(round(v / scale)) if scale != 1 else v
        if isinstance(raw, float):
            if raw != int(raw):
                raise EncodeError("%s must be a whole number, got %r" % (where, v))
            raw = int(raw)
        lo, hi = RANGES[code]
        if raw < lo or raw > hi:
            u = " " + unit if unit else ""
            raise EncodeError(
                "%s = %r%s is out of range (%s..%s%s)"
                % (where, v, u, _eng(lo, scale), _eng(hi, scale), u)
            )
        out.append(raw)
    extra = [k for k in fields if k not in [f[0] for f in spec]]
    if extra:
        raise EncodeError("%s has no field %s" % (name, ", ".join(sorted(extra))))
    return out


def _eng(raw, scale):
    return raw if scale == 1 else round(raw * scale, _digits(scale))


def from_raw(msg_id, values):
    """Dict of engineering values from raw wire values (enums by member name)."""
    out = {}
    # MicroPython's zip() takes no strict=; both lengths come from the same spec.
    for (fname, code, scale, _unit, enum, _bits), v in zip(s.FIELDS[msg_id], values):  # noqa: B905
        if code == "text":
            v = bytes(v).decode("utf-8", "replace")
        elif code.endswith("s"):
            v = bytes(v).split(b"\x00")[0].decode("utf-8", "replace")
        elif scale != 1:
            v = round(v * scale, _digits(scale))
        elif enum is not None:
            v = s.ENUMS[enum].get(v, v)
        out[fname] = v
    return out
