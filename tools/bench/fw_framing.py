"""Cost of the shared framing (pilotproto.framing) per frame under MicroPython.

Run by tools/bench/protocol.py as
    MICROPYPATH=.frozen:protocol .venv/bin/micropython -X heapsize=128k tools/bench/fw_framing.py
Prints one line: encode_us=.. decode_us=.. encode_alloc=.. decode_alloc=.. (per frame, over
a telemetry mix, after a warm-up, with the GC disabled so gc.mem_alloc() counts every byte).
"""

import gc
import time

from pilotproto import framing
from pilotproto import messages as m

FRAMES = 2000
# Raw values of a telemetry mix, as a board's telemetry task holds them (preallocated).
MIX = (
    (m.MSG_HEARTBEAT, [123456, 1, 0, 2, 127, 81234, 3]),
    (m.MSG_VESSEL, [0, 1712, 3527, 612, 1700, 3500, 2, 2, 5, 42, 12345, 500, 7, 0]),
    (m.MSG_VESSEL, [1, 1698, 3495, -25, 1700, 3500, 2, 2, 1, 40, 11000, 0, 7, 0]),
    (m.MSG_CANISTER, [0, 17532, 4210, 2150, 634, 2, 1, 1, 7, 0]),
    (m.MSG_EVENT, [0, 0, 21, 2, 2410, 2300, 100000]),
)


def _measure(step):
    """(µs, bytes allocated) per call of step(i), after a warm-up."""
    for i in range(len(MIX) * 20):
        step(i)
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    t0 = time.ticks_us()
    for i in range(FRAMES):
        step(i)
    t1 = time.ticks_us()
    a1 = gc.mem_alloc()
    gc.enable()
    return time.ticks_diff(t1, t0) / FRAMES, (a1 - a0) / FRAMES


def main():
    encoder = framing.Encoder()
    decoder = framing.Decoder()
    frames = [bytes(encoder.encode(msg_id, values)) for msg_id, values in MIX]
    n = len(MIX)

    def encode(i):
        msg_id, values = MIX[i % n]
        encoder.encode(msg_id, values)

    def handler(msg_id, seq, flags, body, size):
        pass

    def decode(i):
        frame = frames[i % n]
        decoder.feed(frame, len(frame), handler)

    enc_us, enc_alloc = _measure(encode)
    dec_us, dec_alloc = _measure(decode)
    if decoder.frames < FRAMES or sum(decoder.errors):
        raise SystemExit("decoder lost frames: %d, errors %r" % (decoder.frames, decoder.errors))
    print(
        "encode_us=%.1f decode_us=%.1f encode_alloc=%.1f decode_alloc=%.1f"
        % (enc_us, dec_us, enc_alloc, dec_alloc)
    )


main()
