"""Host codec for the pilotedge wire protocol: a bulk stream decoder and an encoder.

The shared decoder (pilotproto.framing) walks the stream byte by byte, which suits a board.
The host replays captures and follows fast virtual benches, so this one splits the stream on
the 0x00 delimiter and hands each frame to C code (cobs, binascii, struct): Python runs once
per frame, never per byte. Both decoders pass the same golden vectors (protocol/vectors/).
"""

import binascii
import struct
from typing import NamedTuple

from cobs import cobs

from pilotproto import convert, framing
from pilotproto import messages as m
from pilotproto import schema as s

from .errors import EncodeError

# CRC-32/ISO-HDLC in C, called straight: crcmod's function of it wraps the C call in a
# Python one, a quarter of the decoder's time per frame.
crc32 = binascii.crc32

# CRC-32 run over a body *and* its little-endian CRC gives this constant (the ISO-HDLC
# residue) for every intact body, so the check needs no slice and no unpack.
_CRC_RESIDUE = 0x2144DF1C

# Decoder error kinds: the shared framing's names, plus "schema" for a HELLO that carries a
# different schema hash (still delivered, so the link can name both versions when it refuses).
ERROR_KINDS = framing.ERROR_NAMES + ("schema",)

_HEADER = struct.Struct(m.HEADER_FMT)
_MIN_BODY = m.HEADER_SIZE + m.CRC_SIZE
_MAX_CHUNK = m.MAX_BODY + 1  # a COBS-encoded body, without its delimiter

# id -> (struct for the fixed part, fixed size, has text tail)
_LAYOUTS = {i: (struct.Struct(v[1]), v[2], v[3]) for i, v in m.MESSAGES.items()}
MESSAGE_IDS = {v[0]: i for i, v in m.MESSAGES.items()}
PARAMS = {p[1]: p for p in m.PARAMS}




class Frame(NamedTuple):
    """One decoded message: header fields and the raw wire values in spec order."""

    msg_id: int
    seq: int
    flags: int
    values: tuple

    @property
    def name(self):
        return m.MESSAGES[self.msg_id][0]

    def fields(self):
        """Engineering values by field name (scaled; enums by member name)."""
        return convert.from_raw(self.msg_id, self.values)


class StreamDecoder:
    """Turns a byte stream into Frames; counts bad frames by kind and resyncs at each 0x00.

    Bytes after the last delimiter wait for the next feed(). A chunk that grows past the
    longest possible frame is counted once as a length error and skipped up to its
    delimiter, so noise without zeros costs no memory.
    """

    def __init__(self):
        self.frames = 0
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.foreign_version = None  # header version of the last frame refused as "version"
        self._tail = b""
        self._skipping = False

    def feed(self, data):
        """Decode what data completes; return the list of valid Frames, in stream order."""
        chunks = (self._tail + bytes(data)).split(b"\x00")
        tail = chunks.pop()
        if self._skipping and chunks:
            chunks[0] = b""  # the end of an over-long chunk, already counted
            self._skipping = False
        if len(tail) > _MAX_CHUNK:
            if not self._skipping:
                self.errors["length"] += 1
                self._skipping = True
            tail = b""
        self._tail = tail
        return self._decode(chunks)

    def flush(self):
        """End of stream: a frame still waiting for its delimiter is counted as truncated."""
        if self._tail and not self._skipping:
            self.errors["length"] += 1
        self._tail = b""
        self._skipping = False

    def _decode(self, chunks):
        out = []
        errors = self.errors
        decode = cobs.decode
        new_frame = tuple.__new__  # Frame(...) without its Python-level __new__
        for chunk in chunks:
            if not chunk:
                continue  # idle delimiter
            if len(chunk) > _MAX_CHUNK:
                errors["length"] += 1
                continue
            try:
                body = decode(chunk)
            except cobs.DecodeError:
                errors["cobs"] += 1
                continue
            n = len(body)
            if n < _MIN_BODY:
                errors["length"] += 1
                continue
            if crc32(body) != _CRC_RESIDUE:
                errors["crc"] += 1
                continue
            if body[0] != m.VERSION:
                errors["version"] += 1
                self.foreign_version = body[0]
                continue
            msg_id = body[1]
            layout = _LAYOUTS.get(msg_id)
            if layout is None:
                errors["unknown_id"] += 1
                continue
            fixed, size, text = layout
            payload = n - _MIN_BODY
            if payload != size and not (text and payload > size):
                errors["length"] += 1
                continue
            values = fixed.unpack_from(body, m.HEADER_SIZE)
            if text:
                values += (body[m.HEADER_SIZE + size : n - m.CRC_SIZE],)
            if msg_id == m.MSG_HELLO and values[s.HELLO_SCHEMA_HASH] != m.SCHEMA_HASH:
                errors["schema"] += 1
            out.append(new_frame(Frame, (msg_id, body[2], body[3], values)))
        self.frames += len(out)
        return out


def message_id(msg):
    """Message id from an id or a name such as "VESSEL"; EncodeError if there is none."""
    if isinstance(msg, str):
        msg_id = MESSAGE_IDS.get(msg.upper())
    else:
        msg_id = msg if msg in m.MESSAGES else None
    if msg_id is None:
        raise EncodeError("unknown message %r (known: %s)" % (msg, ", ".join(MESSAGE_IDS)))
    return msg_id


def encode(msg, fields, seq, flags=0):
    """Frame one message from engineering values (a dict by field name, enums by name).

    Raises EncodeError naming the field, value and range when a value does not fit; a value
    is never wrapped or clipped.
    """
    msg_id = message_id(msg)
    return encode_raw(msg_id, _shared(convert.to_raw, msg_id, fields), seq, flags)


def encode_raw(msg_id, values, seq, flags=0):
    """Frame one message from raw wire values in spec order; return the bytes incl. 0x00."""
    _shared(framing.check_values, msg_id, values)
    if not (0 <= seq <= 0xFF and 0 <= flags <= 0xFF):
        raise EncodeError("seq %r and flags %r must be 0..255" % (seq, flags))
    fixed, _size, text = _LAYOUTS[msg_id]
    body = _HEADER.pack(m.VERSION, msg_id, seq, flags)
    if text:
        body += fixed.pack(*values[:-1]) + bytes(values[-1])
    else:
        body += fixed.pack(*values)
    body += crc32(body).to_bytes(4, "little")
    return cobs.encode(body) + b"\x00"


def _shared(fn, *args):
    """fn(*args) of the shared codec, with its EncodeError raised as the library's."""
    try:
        return fn(*args)
    except framing.EncodeError as exc:
        raise EncodeError(str(exc)) from None


def _verb_spec(verb):
    name = verb if isinstance(verb, str) else s.ENUMS["VERB"].get(verb)
    spec = s.VERBS.get(name)
    if spec is None:
        raise EncodeError("unknown verb %r (known: %s)" % (verb, ", ".join(s.VERBS)))
    return name, spec


def arg_raw(verb, index, value):
    """Wire value of COMMAND argument `index` (0 or 1) of a verb (a name or its value): a
    member name where the spec gives that argument an enum, else the value as given."""
    _name, spec = _verb_spec(verb)
    arg = spec[1 + index]
    if arg is None or arg[1] is None or not isinstance(value, str):
        return value
    members = {n: v for v, n in s.ENUMS[arg[1]].items()}
    allowed = arg[2] or tuple(members)
    if value not in allowed:
        raise EncodeError("%s %s: %r is not one of %s" % (verb, arg[0], value, ", ".join(allowed)))
    return members[value]


def command_args(verb, arg0=0, arg1=0):
    """Wire values (arg0, arg1) of a COMMAND, members given by name or value; EncodeError
    naming the range when one is outside what the verb takes (spec: verbs), where a board
    would refuse the command OUT_OF_RANGE."""
    name, spec = _verb_spec(verb)
    out = []
    for index, value in enumerate((arg0, arg1)):
        arg = spec[1 + index]
        raw = arg_raw(name, index, value)
        if arg is None:
            if raw != 0:
                raise EncodeError("%s takes no arg%d: it must be 0, got %r" % (name, index, value))
        elif isinstance(raw, bool) or not isinstance(raw, int):
            raise EncodeError("%s %s must be a whole number, got %r" % (name, arg[0], value))
        elif arg[1] is not None:
            members = s.ENUMS[arg[1]]
            allowed = arg[2] or tuple(members.values())
            if members.get(raw) not in allowed:
                raise EncodeError(
                    "%s %s: %r is not one of %s" % (name, arg[0], value, ", ".join(allowed))
                )
        elif not arg[3] <= raw <= arg[4]:
            unit = " " + arg[5] if arg[5] else ""
            raise EncodeError(
                "%s %s = %r%s is out of range (%d..%d%s)"
                % (name, arg[0], value, unit, arg[3], arg[4], unit)
            )
        out.append(raw)
    return tuple(out)


def param(name):
    """Spec entry of a parameter: (kind, name, unit, scale, raw min, raw max, raw default,
    hw_limit key); EncodeError if the spec has no such parameter."""
    p = PARAMS.get(name)
    if p is None:
        raise EncodeError("unknown parameter %r (known: %s)" % (name, ", ".join(PARAMS)))
    return p


def param_to_raw(name, value):
    """Wire value of parameter `name` from its engineering value, within the protocol range.

    The board may refuse a narrower range (its hardware limits); the host only stops what no
    board can accept.
    """
    _kind, _name, unit, scale, lo, hi, _default, _hw = param(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EncodeError("parameter %s must be a number, got %r" % (name, value))
    raw = int(round(value / scale))
    if not lo <= raw <= hi:
        raise EncodeError(
            "parameter %s = %r %s is out of range (%g..%g %s)"
            % (name, value, unit, lo * scale, hi * scale, unit)
        )
    return raw


def engineering(frame):
    """A frame's fields in engineering units (Frame.fields()), with the value of a
    PARAM_VALUE or PARAM_SET scaled by its parameter's own scale too (35.0 for temp_sp's
    raw 3500; left raw for a name the spec does not have)."""
    f = frame.fields()
    if frame.msg_id in (m.MSG_PARAM_VALUE, m.MSG_PARAM_SET) and f["name"] in PARAMS:
        f["value"] = param_from_raw(f["name"], f["value"])
    return f


def param_from_raw(name, raw):
    """Engineering value of parameter `name` from its wire value."""
    scale = PARAMS[name][3]
    # Scales are powers of ten: dividing by the whole inverse gives the float nearest the
    # decimal value (28000 -> 28.0), where multiplying by 0.001 would give 28.000000000000004.
    return raw if scale == 1 else raw / round(1 / scale)
