"""COBS + CRC-32 framing shared by the firmware and the host (pure Python, MicroPython-safe).

Frame = COBS(body) + 0x00, body = header (version, msg_id, seq, flags) + payload + CRC-32 LE.
The encoder and decoder own preallocated buffers and, once warm, allocate nothing per frame
on the 64-bit Unix port. On a 32-bit port a small int is 31-bit signed, so a CRC of 2**30 or
more (three in four) is a heap long: the decoder therefore checks the CRC-32 residue of body
plus CRC (a constant below 2**30) instead of building the received CRC, and allocates
nothing; the encoder's binascii.crc32() result is one 32-byte long in three frames of four
(24 B per frame on average, measured), which only a CRC in Python could avoid. The host has a
faster bulk decoder (pilotedge.codec) built on the same tables; both pass the golden vectors
in protocol/vectors/.
"""

import binascii
import struct

from . import messages as m

_FRAME_MAX = m.MAX_BODY + 2  # one COBS overhead byte and the 0x00 delimiter
# CRC-32 of any body followed by its own CRC (little-endian): a small int on 32-bit ports.
_CRC_RESIDUE = 0x2144DF1C


def crc32(data):
    """CRC-32/ISO-HDLC (crcmod "crc-32"), as an unsigned 32-bit int (on both interpreters)."""
    return binascii.crc32(data)


class EncodeError(ValueError):
    """A field value does not fit its wire type; nothing is sent and nothing wraps."""


# Raw range of each integer struct code of the spec (a string field is checked by length).
RANGES = {
    "b": (-0x80, 0x7F),
    "B": (0, 0xFF),
    "h": (-0x8000, 0x7FFF),
    "H": (0, 0xFFFF),
    "i": (-0x80000000, 0x7FFFFFFF),
    "I": (0, 0xFFFFFFFF),
}


def check_values(msg_id, values):
    """Raise EncodeError unless every raw value fits its wire type. Allocation-free when OK."""
    spec = m.MESSAGES.get(msg_id)
    if spec is None:
        raise EncodeError("unknown message id %d" % msg_id)
    name, fmt, size, text = spec
    nfixed = len(values) - 1 if text else len(values)
    field = 0
    width = 0  # the N of an "Ns" field: the digits before its code
    for i in range(1, len(fmt)):  # fmt[0] is the byte order, "<"
        code = fmt[i]  # a one-character str is interned: no allocation
        bounds = RANGES.get(code)
        if bounds is None and code != "s":
            width = width * 10 + ord(code) - 48  # a digit of an "Ns" field
            continue
        if field < nfixed:
            v = values[field]
            if bounds is not None:
                if not isinstance(v, int) or v < bounds[0] or v > bounds[1]:
                    lo, hi = bounds
                    raise EncodeError("%s field %d: %r outside %d..%d" % (name, field, v, lo, hi))
            elif not isinstance(v, (bytes, bytearray)):
                raise EncodeError("%s field %d must be bytes" % (name, field))
            elif len(v) > (width or 1):
                raise EncodeError("%s field %d: %d bytes is too long" % (name, field, len(v)))
        field += 1
        width = 0
    if field != nfixed:
        raise EncodeError("%s takes %d values, got %d" % (name, field + text, len(values)))
    if text and len(values[nfixed]) > m.MAX_PAYLOAD - size:
        raise EncodeError("%s text longer than %d bytes" % (name, m.MAX_PAYLOAD - size))


def cobs_encode_into(src, n, dst):
    """COBS-encode src[0:n] into dst; return the encoded length (no delimiter added)."""
    code_at = 0
    code = 1
    o = 1
    for i in range(n):
        b = src[i]
        if b == 0:
            dst[code_at] = code
            code_at = o
            o += 1
            code = 1
        else:
            dst[o] = b
            o += 1
            code += 1
            # A full block (254 data bytes) closes here, and a new one opens only if data
            # follows: a 254-byte zero-free body must take 255 bytes, not 256.
            if code == 0xFF and i + 1 < n:
                dst[code_at] = code
                code_at = o
                o += 1
                code = 1
    dst[code_at] = code
    return o


class Encoder:
    """Builds frames in preallocated buffers; keeps this direction's sequence number."""

    def __init__(self):
        self.body = bytearray(m.MAX_BODY)
        self.frame = bytearray(_FRAME_MAX)
        self.seq = 0
        # Cached views by length: a memoryview slice costs an allocation, so make each once.
        self._body_views = {}
        self._frame_views = {}

    def encode(self, msg_id, values, flags=0):
        """Frame one message from raw wire values; return a memoryview of the frame.

        The view is valid until the next call. Raises EncodeError for bad values.
        """
        check_values(msg_id, values)
        _name, fmt, size, text = m.MESSAGES[msg_id]
        body = self.body
        if text:
            struct.pack_into(fmt, body, m.HEADER_SIZE, *values[:-1])
            tail = values[-1]
            start = m.HEADER_SIZE + size
            for i in range(len(tail)):
                body[start + i] = tail[i]
            size += len(tail)
        else:
            struct.pack_into(fmt, body, m.HEADER_SIZE, *values)
        return self._seal(msg_id, m.HEADER_SIZE + size, flags)

    def _seal(self, msg_id, n, flags):
        body = self.body
        struct.pack_into(m.HEADER_FMT, body, 0, m.VERSION, msg_id, self.seq, flags)
        self.seq = (self.seq + 1) & 0xFF
        struct.pack_into("<I", body, n, crc32(self._view(self._body_views, body, n)))
        k = cobs_encode_into(body, n + m.CRC_SIZE, self.frame)
        self.frame[k] = 0
        return self._view(self._frame_views, self.frame, k + 1)

    @staticmethod
    def _view(cache, buf, n):
        v = cache.get(n)
        if v is None:
            v = memoryview(buf)[:n]
            cache[n] = v
        return v


def unpack(msg_id, body, payload_len):
    """Raw values (spec order) of a frame as Decoder hands it over; allocates the tuple."""
    _name, fmt, size, text = m.MESSAGES[msg_id]
    values = struct.unpack_from(fmt, body, m.HEADER_SIZE)
    if text:
        start = m.HEADER_SIZE + size
        values += (bytes(body[start : start + payload_len - size]),)
    return values


# Error kinds counted by decoders (indexes into Decoder.errors).
ERR_CRC = 0
ERR_COBS = 1
ERR_LENGTH = 2
ERR_UNKNOWN = 3
ERR_VERSION = 4
ERROR_NAMES = ("crc", "cobs", "length", "unknown_id", "version")


class Decoder:
    """Incremental COBS decoder for bytes arriving in chunks from a UART.

    feed() decodes in place into a preallocated body buffer and calls
    handler(msg_id, seq, flags, body, payload_len) for each valid frame; the payload starts
    at body[HEADER_SIZE]. Errors are counted by kind and decoding restarts at the next 0x00.
    """

    def __init__(self):
        self.body = bytearray(m.MAX_BODY + 1)
        self.errors = [0, 0, 0, 0, 0]
        self.frames = 0
        self._n = 0
        self._left = 0  # bytes left in the current COBS block
        self._code = 0xFF  # code of the current block (0xFF blocks add no zero)
        self._bad = False  # current frame already failed; skip to the delimiter
        self._view_cache = {}

    def feed(self, data, n, handler):
        body = self.body
        limit = len(body)
        for i in range(n):
            b = data[i]
            if b == 0:
                self._end(handler)
                continue
            if self._bad:
                continue
            if self._left == 0:
                # A new block: the previous one ended in an implicit zero unless it was full.
                if self._code != 0xFF:
                    if self._n >= limit:
                        self._fail(ERR_LENGTH)
                        continue
                    body[self._n] = 0
                    self._n += 1
                self._code = b
                self._left = b - 1
            else:
                if self._n >= limit:
                    self._fail(ERR_LENGTH)
                    continue
                body[self._n] = b
                self._n += 1
                self._left -= 1

    def _fail(self, kind):
        self.errors[kind] += 1
        self._bad = True

    def _end(self, handler):
        n = self._n
        bad = self._bad
        left = self._left
        started = n > 0 or self._code != 0xFF or left > 0
        self._n = 0
        self._left = 0
        self._code = 0xFF
        self._bad = False
        if bad or not started:
            return  # already counted, or an idle delimiter
        if left:
            self.errors[ERR_COBS] += 1
            return
        self._check(n, handler)

    def _check(self, n, handler):
        body = self.body
        if n < m.HEADER_SIZE + m.CRC_SIZE or n > m.MAX_BODY:
            self.errors[ERR_LENGTH] += 1
            return
        v = self._view_cache.get(n)
        if v is None:
            v = memoryview(body)[:n]
            self._view_cache[n] = v
        if binascii.crc32(v) != _CRC_RESIDUE:
            self.errors[ERR_CRC] += 1
            return
        k = n - m.CRC_SIZE
        if body[0] != m.VERSION:
            self.errors[ERR_VERSION] += 1
            return
        spec = m.MESSAGES.get(body[1])
        payload = k - m.HEADER_SIZE
        if spec is None:
            self.errors[ERR_UNKNOWN] += 1
            return
        if payload != spec[2] and not (spec[3] and payload >= spec[2]):
            self.errors[ERR_LENGTH] += 1
            return
        self.frames += 1
        handler(body[1], body[2], body[3], body, payload)
