# pilotedge: parameters of the board and its units: ranges, hw limits, persistence (MIT).
#
# Ranges come from the spec (messages.PARAMS). A board's hw_limits, keyed by a param's
# hw_limit name, can only lower its maximum, so no PARAM_SET and no stored config can exceed
# a hardware-safe value. Values are kept as raw wire integers (value / scale), the form the
# store persists and the units read, so no float rounding drifts a stored value.
# Wire unit numbers are the order of `units` (app.py numbers them by the spec's rule) and
# UNIT_BOARD for the board.

from compat import const
from pilotproto import messages as m
from runtime import store

_CONFIG_VERSION = const(1)
BOARD = "board"  # config key and param kind of the board's own parameters


def _specs(hw_limits):
    # kind -> [(name, raw_min, raw_max, raw_default)], spec order, hw limits applied.
    specs = {}
    for kind, name, _unit, scale, lo, hi, default, hw in m.PARAMS:
        if hw is not None and hw in hw_limits:
            hi = min(hi, int(round(hw_limits[hw] / scale)))
            default = min(default, hi)
        specs.setdefault(kind, []).append((name, lo, hi, default))
    return specs


class Params:
    def __init__(self, fs, folder, units, hw_limits):
        # units: [(name, kind)] in wire order; the config lives in <folder>/config.json.
        self._record = store.Record(
            fs, folder, "config", _CONFIG_VERSION, self.validate, self.defaults
        )
        self._specs = _specs(hw_limits)
        self._names = [BOARD] + [name for name, _kind in units]
        self._kinds = {BOARD: BOARD}
        for name, kind in units:
            self._kinds[name] = kind
        self.values = None  # unit name -> {param name: raw}, valid after load()
        self.source = store.DEFAULTS
        self.invalid = 0  # damaged or invalid copies found by load()
        self.ok = False  # False: the values break a rule (only if hw_limits clash)
        self.on_set = None  # on_set(unit name, param, raw value) after a set took effect

    def defaults(self):
        return {u: {p[0]: p[3] for p in self._specs[self._kinds[u]]} for u in self._names}

    def validate(self, data):
        # Cleaned copy of a stored config; ValueError on any broken rule. A param missing
        # from an older file takes its default; an unknown unit or param is an error.
        if not isinstance(data, dict):
            raise ValueError("config")
        for u in data:
            if u not in self._kinds:
                raise ValueError(u)
        out = {}
        for u in self._names:
            stored = data.get(u, {})
            if not isinstance(stored, dict):
                raise ValueError(u)
            specs = self._specs[self._kinds[u]]
            known = [p[0] for p in specs]
            for key in stored:
                if key not in known:
                    raise ValueError(u + "." + key)
            values = {}
            for name, lo, hi, default in specs:
                v = stored.get(name, default)
                if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                    raise ValueError(u + "." + name)
                values[name] = v
            self._check_order(self._kinds[u], values)
            out[u] = values
        return out

    @staticmethod
    def _check_order(kind, values):
        # The spec's cross-field rules (PARAM_ORDER): each chain strictly increasing.
        for chain_kind, chain in m.PARAM_ORDER:
            if chain_kind != kind:
                continue
            for i in range(1, len(chain)):
                if values[chain[i - 1]] >= values[chain[i]]:
                    raise ValueError(chain[i])

    def load(self):
        # Returns the store source (store.LOADED ... store.DEFAULTS); never raises.
        self.values, self.source = self._record.load()
        self.invalid = self._record.invalid
        try:
            self.validate(self.values)
            self.ok = True
        except ValueError:
            self.ok = False  # defaults clipped by hw_limits into an impossible order
        return self.source

    def save(self):
        # True when the config is on flash.
        try:
            self._record.save(self.values)
        except OSError:
            return False
        self.source = store.LOADED
        return True

    def _unit_name(self, unit):
        if unit == m.UNIT_BOARD:
            return BOARD
        if 0 <= unit < len(self._names) - 1:
            return self._names[unit + 1]
        return None

    def _find(self, unit, name, index):
        # (unit name, specs, index) of a parameter, or None.
        u = self._unit_name(unit)
        if u is None:
            return None
        specs = self._specs[self._kinds[u]]
        if name:
            for i in range(len(specs)):
                if specs[i][0] == name:
                    return u, specs, i
            return None
        if 0 <= index < len(specs):
            return u, specs, index
        return None

    def get(self, unit, name, index):
        # PARAM_VALUE fields (name, value, index, count, result) for a PARAM_GET.
        found = self._find(unit, name, index)
        if found is None:
            return name, 0, 0xFFFF, 0, m.PARAM_RESULT_UNKNOWN
        u, specs, i = found
        pname = specs[i][0]
        return pname, self.values[u][pname], i, len(specs), m.PARAM_RESULT_OK

    def set(self, unit, name, value):
        # Apply and persist a PARAM_SET; answer as get() with the value now in force.
        found = self._find(unit, name, 0) if name else None
        if found is None:
            return name, 0, 0xFFFF, 0, m.PARAM_RESULT_UNKNOWN
        u, specs, i = found
        pname, lo, hi, _default = specs[i]
        values = self.values[u]
        old = values[pname]
        result = m.PARAM_RESULT_OK
        if not lo <= value <= hi:
            result = m.PARAM_RESULT_OUT_OF_RANGE
        elif value != old:
            values[pname] = value
            try:
                self._check_order(self._kinds[u], values)
            except ValueError:
                values[pname] = old
                result = m.PARAM_RESULT_OUT_OF_RANGE
            else:
                if not self.save():
                    values[pname] = old
                    result = m.PARAM_RESULT_STORE_FAILED
                elif self.on_set is not None:
                    self.on_set(u, pname, value)
        return pname, values[pname], i, len(specs), result
