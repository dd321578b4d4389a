# pilotedge bench: the truth trace of one board, in simulated milliseconds (MIT).
#
# What really happened, for tests and benchmarks to judge the firmware by: every plant step's
# true values, every sample a chip took (the true quantity, what the transducer converted and
# what the chip reported) and every edge of an output pin. Records are packed into a
# preallocated buffer and appended to a binary file (a board's restarts append to the same
# file); the legend, which names every index, goes beside it as JSON. The host reads both
# with pilotedge.bench.trace. Off unless the host asks for it.
#
# Record: head "<BHq" (kind, index, t_ms), then a payload by kind:
#   PLANT   one float64 per field of that plant, in the legend's order
#   SAMPLE  "<ddd": true quantity, sensed quantity (NaN while open or shorted), reported
#   EDGE    "<B": the pin's new level

import json
import struct

from sim.common import const

PLANT = const(1)
SAMPLE = const(2)
EDGE = const(3)
HEAD = "<BHq"
_HEAD_SIZE = const(11)
_F64 = const(8)
_BUF_SIZE = const(16384)  # one write per 16 KB of records


class Trace:
    def __init__(self, path, legend, every_ms=1):
        # every_ms: a plant step and a sensor's sample recorded at most once per every_ms
        # (a week's run at 1000: the file stays at tens of MB); pin edges always.
        with open(path + ".json", "w") as f:
            json.dump(legend, f)
        self._f = open(path, "ab")
        self._buf = bytearray(_BUF_SIZE)
        self._view = memoryview(self._buf)
        self._n = 0
        self.every_ms = max(1, every_ms)
        self._due = [0] * len(legend["sensors"])  # when each sensor's next sample is kept

    def _head(self, kind, index, t_ms, payload):
        # Room for one record; returns the offset of its payload.
        if self._n + _HEAD_SIZE + payload > _BUF_SIZE:
            self.flush()
        n = self._n
        struct.pack_into(HEAD, self._buf, n, kind, index, t_ms)
        self._n = n + _HEAD_SIZE + payload
        return n + _HEAD_SIZE

    def plant(self, index, t_ms, plant, fields):
        at = self._head(PLANT, index, t_ms, _F64 * len(fields))
        buf = self._buf
        for name in fields:
            struct.pack_into("<d", buf, at, getattr(plant, name))
            at += _F64

    def sample(self, sensor, t_ms, reported):
        index = sensor.trace_id
        if index is not None and t_ms >= self._due[index]:
            self._due[index] = t_ms + self.every_ms if self.every_ms > 1 else 0
            at = self._head(SAMPLE, index, t_ms, 3 * _F64)
            struct.pack_into("<ddd", self._buf, at, sensor.true(), sensor.sensed, reported)

    def edge(self, index, t_ms, level):
        at = self._head(EDGE, index, t_ms, 1)
        self._buf[at] = level

    def flush(self):
        if self._n:
            self._f.write(self._view[: self._n])
            self._f.flush()
            self._n = 0
