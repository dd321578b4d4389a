# pilotedge: the small persisted state record: boot count, reset cause, latches, modes (MIT).
#
# Separate from the config so that the frequent small writes (a trip latching, a mode
# change) never put the config at risk, and a damaged state record costs only a boot count.
# Latched trips live here because they must survive a reboot (domain-facts 5.2).

from compat import const
from runtime import store

_STATE_VERSION = const(1)
_KEYS = ("boot", "reset", "trips", "modes")


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def validate(data):
    if not isinstance(data, dict):
        raise ValueError("state")
    for key in data:
        if key not in _KEYS:
            raise ValueError(key)
    if not _int(data["boot"]) or not _int(data["reset"]):
        raise ValueError("boot")
    trips = data["trips"]
    modes = data["modes"]
    if not isinstance(trips, dict) or not all(_int(v) for v in trips.values()):
        raise ValueError("trips")
    if not isinstance(modes, dict):
        raise ValueError("modes")
    for v in modes.values():
        if not isinstance(v, list) or not all(_int(x) for x in v):
            raise ValueError("modes")
    return data


def _defaults():
    return {"boot": 0, "reset": 0, "trips": {}, "modes": {}}


class State:
    def __init__(self, fs, folder):
        self._record = store.Record(fs, folder, "state", _STATE_VERSION, validate, _defaults)
        self.data = None
        self.source = store.DEFAULTS
        self.lost = False  # a damaged record and no good copy: latches may have been lost

    def boot(self, reset_cause):
        # Load, count this boot and persist it. A flash error is survivable: the board
        # then runs with the counts in RAM.
        self.data, self.source = self._record.load()
        self.lost = self.source == store.DEFAULTS and self._record.invalid > 0
        self.data["boot"] += 1
        self.data["reset"] = reset_cause
        self.save()

    def save(self):
        try:
            self._record.save(self.data)
            return True
        except OSError:
            return False

    def trip(self, unit, unknown):
        # Latched trip code of a unit (an EVENT_* code), 0 when none; `unknown` when the
        # record was lost, so a trip latched before the damage cannot silently vanish.
        return self.data["trips"].get(unit, unknown if self.lost else 0)

    def set_trip(self, unit, code):
        trips = self.data["trips"]
        if code:
            trips[unit] = code
        elif unit in trips:
            del trips[unit]
        return self.save()

    def modes(self, unit, default):
        return self.data["modes"].get(unit, default)

    def set_modes(self, unit, modes):
        self.data["modes"][unit] = list(modes)
        return self.save()
