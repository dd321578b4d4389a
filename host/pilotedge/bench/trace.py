"""Read a bench board's truth trace: what really happened, in simulated milliseconds.

The board process records it (firmware/sim/trace.py documents the binary format) into
<workdir>/<board>.trace, with the legend that names every index beside it in .trace.json.
Bench.trace(board) flushes the board's buffer and returns a Trace of everything so far.

    trace = bench.trace(0)
    vessel = trace.plant("v0")            # {"t_ms": [...], "ph": [...], "temp_c": [...], ...}
    ph = trace.samples("v0_ph")           # {"t_ms", "true", "sensed", "reported"}
    trace.edges("v0_acid")                # [(t_ms, level), ...] of the output's pin
    trace.to_csv("out/")                  # one CSV per plant, sensor and pin
"""

import csv
import json
import struct
from pathlib import Path

from .board import BenchError

_HEAD = struct.Struct("<BHq")
_SAMPLE = struct.Struct("<ddd")
_PLANT, _SAMPLE_KIND, _EDGE = 1, 2, 3
_SAMPLE_FIELDS = ("t_ms", "true", "sensed", "reported")


class Trace:
    """A board's truth trace: plant steps, chip samples and pin edges, by name.

    Units: plant fields as the plant models name them (ph, temp_c, pressure_bar, soc 0..1,
    acid_added_ml, heater_wh, ...); a sample's true and sensed values in the sensor's own
    quantity (mV for electrodes, degC for thermometers, bar for pressure), its reported value
    in what the chip reports (mV at an ADS1115 input, degC for a DS18B20).
    """

    def __init__(self, legend, plants, samples, edges):
        self.legend = legend
        self._plants = plants
        self._samples = samples
        self._edges = edges

    @classmethod
    def read(cls, path, plants=None, samples=True):
        """plants: the names of the plants to keep (None: all); samples: keep the chips'
        samples (a long run's trace is large: tools/bench/control.py keeps one plant)."""
        path = Path(path)
        try:
            legend = json.loads(Path(str(path) + ".json").read_text())
            data = path.read_bytes()
        except (OSError, ValueError) as e:
            raise BenchError("cannot read the trace %s: %s" % (path, e))
        plant_fields = [p["fields"] for p in legend["plants"]]
        keep = [plants is None or p["name"] in plants for p in legend["plants"]]
        keep_samples = samples
        plants = [{k: [] for k in ["t_ms", *fields]} for fields in plant_fields]
        samples = [{k: [] for k in _SAMPLE_FIELDS} for _ in legend["sensors"]]
        edges = [[] for _ in legend["pins"]]
        at, end = 0, len(data)
        while at + _HEAD.size <= end:
            kind, index, t_ms = _HEAD.unpack_from(data, at)
            at += _HEAD.size
            if kind == _PLANT:
                fields = plant_fields[index]
                if not keep[index]:
                    at += 8 * len(fields)
                    continue
                values = struct.unpack_from("<%dd" % len(fields), data, at)
                at += 8 * len(fields)
                columns = plants[index]
                columns["t_ms"].append(t_ms)
                for name, value in zip(fields, values, strict=True):
                    columns[name].append(value)
            elif kind == _SAMPLE_KIND:
                if not keep_samples:
                    at += _SAMPLE.size
                    continue
                columns = samples[index]
                columns["t_ms"].append(t_ms)
                for name, value in zip(_SAMPLE_FIELDS[1:], _SAMPLE.unpack_from(data, at),
                                       strict=True):
                    columns[name].append(value)
                at += _SAMPLE.size
            elif kind == _EDGE:
                edges[index].append((t_ms, data[at]))
                at += 1
            else:
                raise BenchError("trace %s is damaged at byte %d" % (path, at - _HEAD.size))
        return cls(
            legend,
            {p["name"]: plants[i] for i, p in enumerate(legend["plants"])},
            {name: samples[i] for i, name in enumerate(legend["sensors"])},
            {name: edges[i] for i, name in enumerate(legend["pins"])},
        )

    def plant(self, name):
        """Columns of a plant's steps: t_ms and each traced field."""
        return self._lookup(self._plants, name, "plant")

    def samples(self, sensor):
        """Columns of a sensor's samples: t_ms, true, sensed, reported."""
        return self._lookup(self._samples, sensor, "sensor")

    def edges(self, name):
        """[(t_ms, level)] of a pin, named by its output (board file) or by the pin itself."""
        pin = self.legend["outputs"].get(name, name)
        return self._lookup(self._edges, pin, "output or pin")

    @staticmethod
    def _lookup(table, name, what):
        if name not in table:
            raise BenchError("the trace has no %s %r (it has: %s)"
                             % (what, name, ", ".join(table)))
        return table[name]

    def to_csv(self, folder):
        """Write plant_<name>.csv, sample_<sensor>.csv and pin_<pin>.csv into folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tables = [("plant_" + n, c) for n, c in self._plants.items()]
        tables += [("sample_" + n, c) for n, c in self._samples.items()]
        tables += [("pin_" + n, {"t_ms": [e[0] for e in edges], "level": [e[1] for e in edges]})
                   for n, edges in self._edges.items()]
        for name, columns in tables:
            with open(folder / (name + ".csv"), "w", newline="") as f:
                out = csv.writer(f)
                out.writerow(columns)
                out.writerows(zip(*columns.values(), strict=True))
        return folder
