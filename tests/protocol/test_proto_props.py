"""Property tests: every message round-trips through both codecs, and damaged streams never
yield a frame that was not sent while every undamaged frame is still recovered."""

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pilotedge import codec
from pilotproto import convert, framing
from pilotproto import messages as m
from pilotproto import schema as s


def raw_values(msg_id, strings=st.binary):
    """Raw values of msg_id within their wire ranges; strings/text from strings(max_size=n)."""
    size = m.MESSAGES[msg_id][2]
    parts = []
    for _fname, code, *_rest in s.FIELDS[msg_id]:
        if code == "text":
            parts.append(strings(max_size=m.MAX_PAYLOAD - size))
        elif code.endswith("s"):
            parts.append(strings(max_size=struct.calcsize(code)))
        else:
            parts.append(st.integers(*framing.RANGES[code]))
    return st.tuples(*parts).map(list)


def ascii_bytes(max_size):
    """Printable ASCII: what survives bytes -> str -> bytes in pilotproto.convert."""
    chars = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    return st.text(chars, max_size=max_size).map(str.encode)


def messages(strings=st.binary):
    """(msg_id, raw values, seq, flags) for any message."""
    return st.sampled_from(sorted(m.MESSAGES)).flatmap(
        lambda i: st.tuples(
            st.just(i), raw_values(i, strings), st.integers(0, 255), st.integers(0, 255)
        )
    )


def padded(msg_id, values):
    """Values as they come off the wire: fixed strings NUL-padded to their size."""
    codes = [f[1] for f in s.FIELDS[msg_id]]
    return tuple(
        v.ljust(struct.calcsize(c), b"\x00") if isinstance(v, bytes) and c != "text" else v
        for c, v in zip(codes, values, strict=True)
    )


def shared_decode(chunks):
    """Frames from the shared framing decoder as (msg_id, seq, flags, values)."""
    decoder = framing.Decoder()
    got = []

    def handler(msg_id, seq, flags, body, n):
        got.append((msg_id, seq, flags, framing.unpack(msg_id, body, n)))

    for chunk in chunks:
        decoder.feed(chunk, len(chunk), handler)
    return got


@given(messages())
def test_every_message_round_trips_through_both_codecs(msg):
    msg_id, values, seq, flags = msg
    wire = codec.encode_raw(msg_id, values, seq, flags)
    encoder = framing.Encoder()
    encoder.seq = seq
    assert bytes(encoder.encode(msg_id, values, flags)) == wire
    assert len(wire) <= m.MAX_BODY + 2
    want = (msg_id, seq, flags, padded(msg_id, values))
    assert [tuple(f) for f in codec.StreamDecoder().feed(wire)] == [want]
    assert shared_decode([wire]) == [want]


@given(messages(strings=ascii_bytes))
def test_engineering_values_round_trip(msg):
    msg_id, values, seq, flags = msg
    fields = convert.from_raw(msg_id, values)
    assert padded(msg_id, convert.to_raw(msg_id, fields)) == padded(msg_id, values)
    (frame,) = codec.StreamDecoder().feed(codec.encode(msg_id, fields, seq, flags))
    assert frame.fields() == fields


@st.composite
def damaged_streams(draw):
    """A stream of distinct frames, the damage done to it, and the frames that must survive."""
    sent = draw(st.lists(messages(), min_size=1, max_size=10))
    sent = [(i, v, n, f) for n, (i, v, _seq, f) in enumerate(sent)]  # seq = index: distinct
    wires = [codec.encode_raw(*x) for x in sent]
    stream = b"".join(wires)
    size = len(stream)
    flips = draw(st.dictionaries(st.integers(0, size - 1), st.integers(1, 255), max_size=4))
    drops = draw(st.sets(st.integers(0, size - 1), max_size=3))
    inserts = draw(
        st.dictionaries(st.integers(0, size - 1), st.binary(min_size=1, max_size=40), max_size=3)
    )
    cut = draw(st.integers(0, size)) if draw(st.booleans()) else size
    damaged = bytearray()
    for pos in range(cut):
        damaged += inserts.get(pos, b"")
        if pos not in drops:
            damaged.append(stream[pos] ^ flips.get(pos, 0))
    touched = set(flips) | drops | set(inserts)
    # Frame k spans [start, end] (end = its delimiter). Damage there, or to the delimiter
    # before it, may cost the frame; anything else must not.
    intact, start = [], 0
    for k, wire in enumerate(wires):
        end = start + len(wire) - 1
        if end < cut and not touched & set(range(start - 1, end + 1)):
            intact.append(k)
        start = end + 1
    splits = sorted(draw(st.sets(st.integers(0, len(damaged)), max_size=6)))
    bounds = zip([0] + splits, splits + [len(damaged)], strict=True)
    chunks = [bytes(damaged[a:b]) for a, b in bounds]
    return sent, chunks, intact


def check_recovery(sent, got, intact):
    expected = [(i, n, f, padded(i, v)) for i, v, n, f in sent]
    indexes = [expected.index(g) for g in got]  # ValueError: a frame that was never sent
    assert indexes == sorted(set(indexes)), "frames out of order or repeated"
    assert set(intact) <= set(indexes), "an undamaged frame was lost"


@settings(max_examples=300, deadline=None)  # a timing limit would only add flakiness
@given(damaged_streams())
def test_damaged_stream_yields_only_sent_frames_and_recovers(case):
    sent, chunks, intact = case
    decoder = codec.StreamDecoder()
    got = [tuple(f) for chunk in chunks for f in decoder.feed(chunk)]
    check_recovery(sent, got, intact)
    check_recovery(sent, shared_decode(chunks), intact)
