"""Benchmark of the protocol codecs (figures, not a test): run `python tools/bench/protocol.py`.

- host decode (pilotedge.codec.StreamDecoder) of a telemetry stream (HEARTBEAT, VESSEL,
  CANISTER, EVENT), fed in 4 KiB reads as the link reads them: frames/s and MB/s;
- pymavlink's parse_buffer on a MAVLink v2 stream with the same payload sizes, same run;
- the shared framing under MicroPython (tools/bench/fw_framing.py): µs and heap bytes per
  frame for encode and decode.
The last line is the summary: decode_vs_pymavlink is host frames/s over pymavlink frames/s
(target >= 3); fw_alloc_bytes_per_frame is encode + decode of one frame on the board side.
"""

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from pymavlink.dialects.v20 import common as mavlink

from pilotedge import codec
from pilotproto import messages as m

REPO = Path(__file__).resolve().parents[2]
MICROPYTHON = os.environ.get("MICROPYTHON", str(REPO / ".venv" / "bin" / "micropython"))
FRAMES = 100_000
READ = 4096
RUNS = 3
# One telemetry period of a two-vessel, two-canister board, plus an event.
CYCLE = ("HEARTBEAT", "VESSEL", "VESSEL", "CANISTER", "VESSEL", "VESSEL", "CANISTER", "EVENT")
# A MAVLink message at least as long as each of ours; v2 trims trailing zero bytes, so a
# payload of n non-zero bytes followed by zeros goes on the wire as exactly n bytes.
MAV_STAND_IN = {
    "HEARTBEAT": "VFR_HUD",
    "VESSEL": "ATTITUDE",
    "CANISTER": "VFR_HUD",
    "EVENT": "VFR_HUD",
}


def telemetry(rng, name):
    """Engineering values of one plausible telemetry message."""
    if name == "HEARTBEAT":
        return {
            "uptime": rng.uniform(0, 1e5),
            "state": "RUN",
            "faults": 0,
            "overruns": rng.randrange(5),
            "cycle_max": rng.uniform(1, 20),
            "heap_free": rng.randrange(40000, 90000),
            "rx_errors": rng.randrange(3),
        }
    if name == "VESSEL":
        return {
            "unit": rng.randrange(2),
            "ph": rng.uniform(1.2, 2.4),
            "temp": rng.uniform(28, 42),
            "orp": rng.randrange(-50, 750),
            "ph_sp": 1.7,
            "temp_sp": 35.0,
            "ph_mode": "AUTO",
            "temp_mode": "AUTO",
            "outputs": rng.randrange(32),
            "heater": rng.randrange(101),
            "acid_total": rng.uniform(0, 500),
            "base_total": rng.uniform(0, 50),
            "sensor_ok": 7,
            "alarms": 0,
        }
    if name == "CANISTER":
        return {
            "unit": rng.randrange(2),
            "pressure": rng.uniform(1, 30),
            "shell_temp": rng.uniform(15, 60),
            "ambient_temp": rng.uniform(10, 30),
            "soc": rng.uniform(0, 100),
            "soc_valid": "COUNTED",
            "state": "CHARGING",
            "valve_open": 1,
            "sensor_ok": 7,
            "alarms": 0,
        }
    return {
        "unit": 0,
        "kind": "RAISED",
        "code": "PH_HIGH",
        "severity": "ALARM",
        "value": rng.uniform(2, 3),
        "limit": 2.3,
        "uptime": rng.uniform(0, 1e5),
    }


def our_stream(rng):
    names = [CYCLE[i % len(CYCLE)] for i in range(FRAMES)]
    return b"".join(
        codec.encode(name, telemetry(rng, name), i & 0xFF) for i, name in enumerate(names)
    )


def mavlink_stream(rng):
    """MAVLink v2 frames whose payloads are as long as ours, in the same order."""
    sizes = {n: m.MESSAGES[codec.MESSAGE_IDS[n]][2] for n in CYCLE}
    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    out = []
    for i in range(FRAMES):
        name = CYCLE[i % len(CYCLE)]
        cls = getattr(mavlink, "MAVLink_%s_message" % MAV_STAND_IN[name].lower())
        size = sizes[name]
        # Bytes below 0x7F keep every float finite; non-zero keeps the payload its length.
        payload = bytes(rng.randrange(1, 0x7F) for _ in range(size))
        payload += bytes(cls.unpacker.size - size)
        fields = dict(zip(cls.ordered_fieldnames, cls.unpacker.unpack(payload), strict=True))
        out.append(cls(**fields).pack(mav))
    return b"".join(out)


def best_rate(decode_all, stream):
    """Best frames/s of RUNS runs; decode_all(stream) returns the number of frames."""
    best = 0.0
    for _ in range(RUNS):
        t0 = time.perf_counter()
        count = decode_all(stream)
        best = max(best, count / (time.perf_counter() - t0))
    if count != FRAMES:
        raise SystemExit("decoded %d frames of %d" % (count, FRAMES))
    return best


def host_decode(stream):
    decoder = codec.StreamDecoder()
    count = 0
    for i in range(0, len(stream), READ):
        count += len(decoder.feed(stream[i : i + READ]))
    return count


def mavlink_decode(stream):
    mav = mavlink.MAVLink(None)
    count = 0
    for i in range(0, len(stream), READ):
        count += len(mav.parse_buffer(stream[i : i + READ]) or ())
    return count


def firmware_figures():
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", str(REPO / "protocol")]))
    script = REPO / "tools" / "bench" / "fw_framing.py"
    done = subprocess.run(
        [MICROPYTHON, "-X", "heapsize=128k", str(script)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {k: float(v) for k, v in (kv.split("=") for kv in done.stdout.split())}


def main():
    rng = random.Random(1)
    ours, theirs = our_stream(rng), mavlink_stream(rng)
    host_fps = best_rate(host_decode, ours)
    mav_fps = best_rate(mavlink_decode, theirs)
    ratio = host_fps / mav_fps
    print(
        "stream: %d frames (%s), ours %d B, MAVLink v2 %d B"
        % (FRAMES, "/".join(CYCLE), len(ours), len(theirs))
    )
    print(
        "host decode      %9.0f frames/s  %6.1f MB/s"
        % (host_fps, host_fps * len(ours) / FRAMES / 1e6)
    )
    print(
        "pymavlink parse  %9.0f frames/s  %6.1f MB/s"
        % (mav_fps, mav_fps * len(theirs) / FRAMES / 1e6)
    )
    print("ratio            %9.1fx (target >= 3x)" % ratio)
    fw = firmware_figures()
    print(
        "micropython framing: encode %.1f us %.0f B, decode %.1f us %.0f B per frame"
        % (fw["encode_us"], fw["encode_alloc"], fw["decode_us"], fw["decode_alloc"])
    )
    print(
        "protocol: decode_vs_pymavlink=%.1f host_frames_per_s=%d fw_encode_us=%.1f "
        "fw_alloc_bytes_per_frame=%d"
        % (ratio, round(host_fps), fw["encode_us"], round(fw["encode_alloc"] + fw["decode_alloc"]))
    )


if __name__ == "__main__":
    sys.exit(main())
