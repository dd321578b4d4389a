"""Golden vectors through every codec: host codec, shared framing on CPython and on MicroPython.

The vectors are built by tools/make_vectors.py with the cobs package and crcmod, so a codec
that passes agrees with an independent implementation, not with itself.
"""

import json
from pathlib import Path

import pytest
from cobs import cobs

from mpy import PROTOCOL, run_micropython
from pilotedge import codec
from pilotproto import convert, framing
from pilotproto import messages as m

VECTOR_FILES = sorted((PROTOCOL / "vectors").glob("*.json"))
VECTORS = [v for path in VECTOR_FILES for v in json.loads(path.read_text())]
each_vector = pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])


def frame_bytes(vector):
    return bytes.fromhex(vector["frame"])


def test_vectors_cover_the_edges():
    frames = [frame_bytes(v) for v in VECTORS]
    assert {codec.message_id(v["message"]) for v in VECTORS} == set(m.MESSAGES)
    # COBS adds one byte, the delimiter another: a 256-byte frame carries a 254-byte body.
    assert max(len(f) for f in frames) == m.MAX_BODY + 2
    assert any(f[0] == 0xFF and len(f) == m.MAX_BODY + 2 for f in frames), "no 254-byte COBS run"
    assert any(b"\x00\x00" in cobs.decode(f[:-1]) for f in frames), "no zero bytes in a payload"
    values = [convert.to_raw(codec.message_id(v["message"]), v["fields"]) for v in VECTORS]
    numbers = [x for vals in values for x in vals if isinstance(x, int)]
    assert min(numbers) == -(1 << 31) and max(numbers) == (1 << 32) - 1


@each_vector
def test_host_codec_decodes_vector(vector):
    decoder = codec.StreamDecoder()
    (frame,) = decoder.feed(frame_bytes(vector))
    header = (frame.name, frame.seq, frame.flags)
    assert header == (vector["message"], vector["seq"], vector["flags"])
    assert frame.fields() == vector["fields"]
    foreign = vector["message"] == "HELLO" and vector["fields"]["schema_hash"] != m.SCHEMA_HASH
    assert decoder.errors == dict.fromkeys(codec.ERROR_KINDS, 0) | {"schema": int(foreign)}


@each_vector
def test_host_codec_encodes_vector(vector):
    wire = codec.encode(vector["message"], vector["fields"], vector["seq"], vector["flags"])
    assert wire.hex() == vector["frame"]


def test_host_codec_decodes_all_vectors_as_one_stream():
    stream = b"".join(frame_bytes(v) for v in VECTORS)
    decoder = codec.StreamDecoder()
    frames = decoder.feed(stream[:1000]) + decoder.feed(stream[1000:])
    assert [f.fields() for f in frames] == [v["fields"] for v in VECTORS]
    assert decoder.frames == len(VECTORS)


@each_vector
def test_shared_framing_encodes_vector(vector):
    msg_id = codec.message_id(vector["message"])
    encoder = framing.Encoder()
    encoder.seq = vector["seq"]
    wire = encoder.encode(msg_id, convert.to_raw(msg_id, vector["fields"]), vector["flags"])
    assert bytes(wire).hex() == vector["frame"]


@each_vector
def test_shared_framing_decodes_vector(vector):
    got = []
    decoder = framing.Decoder()
    wire = frame_bytes(vector)

    def handler(msg_id, seq, flags, body, n):
        got.append((msg_id, seq, flags, framing.unpack(msg_id, body, n)))

    decoder.feed(wire, len(wire), handler)
    msg_id = codec.message_id(vector["message"])
    assert [g[:3] for g in got] == [(msg_id, vector["seq"], vector["flags"])]
    assert convert.from_raw(msg_id, got[0][3]) == vector["fields"]


def test_shared_framing_passes_vectors_under_micropython():
    out = run_micropython(
        Path(__file__).with_name("mpy_vectors.py"), path=[PROTOCOL], args=VECTOR_FILES
    )
    assert out == "OK %d\n" % len(VECTORS)
