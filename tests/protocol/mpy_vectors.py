# Golden vectors through the shared framing under MicroPython (run by test_proto_vectors.py).
# For each vector: raw values from its engineering fields (pilotproto.convert), encode, compare
# with the golden bytes, decode the golden bytes and compare the values. Prints "OK <count>";
# the first mismatch prints FAIL and exits non-zero.
import binascii
import gc
import json
import sys

from pilotproto import convert, framing
from pilotproto import messages as m

IDS = {}
for _id in m.MESSAGES:
    IDS[m.MESSAGES[_id][0]] = _id


def fail(vector, what, got, want):
    print("FAIL", vector["name"], what, got, want)
    sys.exit(1)


def main(paths):
    enc = framing.Encoder()
    dec = framing.Decoder()
    got = []

    def handler(msg_id, seq, flags, body, n):
        got.append((msg_id, seq, flags, framing.unpack(msg_id, body, n)))

    count = 0
    for path in paths:
        with open(path) as f:
            vectors = json.load(f)
        for v in vectors:
            msg_id = IDS[v["message"]]
            raw = convert.to_raw(msg_id, v["fields"])
            want = binascii.unhexlify(v["frame"])
            enc.seq = v["seq"]
            frame = bytes(enc.encode(msg_id, raw, v["flags"]))
            if frame != want:
                fail(v, "encode", binascii.hexlify(frame), v["frame"])
            got.clear()
            dec.feed(want, len(want), handler)
            if len(got) != 1 or got[0][:3] != (msg_id, v["seq"], v["flags"]):
                fail(v, "decode header", got, (msg_id, v["seq"], v["flags"]))
            back = convert.to_raw(msg_id, convert.from_raw(msg_id, got[0][3]))
            if back != raw:
                fail(v, "decode values", back, raw)
            count += 1
        vectors = None
        gc.collect()
    if dec.frames != count or sum(dec.errors):
        print("FAIL decoder counts", dec.frames, dec.errors)
        sys.exit(1)
    print("OK", count)


main(sys.argv[1:])
