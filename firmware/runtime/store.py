# pilotedge: records on flash: versioned, checksummed JSON, replaced atomically (MIT).
#
# File = one header line "PE1 <kind> <version> <length> <crc32 hex>" + JSON body. The length
# catches a truncated write, the CRC any other damage, kind/version a record of another
# layout. save() writes <name>.tmp, renames the current file to <name>.bak and the tmp file
# over <name>, so at every moment of a power cut one complete copy exists:
#   cut while writing tmp     -> <name> (old) is intact
#   cut after name -> bak     -> <name> missing, tmp complete: load() finishes the rename
#   cut after tmp -> name     -> done
# load() tries <name>, a complete tmp, then <name>.bak, then the defaults; anything but the
# first is reported so the caller raises CONFIG_DEFAULTS. It never raises for bad files.
#
# State is the small persisted state record: boot count, reset cause, latches, modes, and
# each unit's operating minutes (calibration ages without a host clock). It is
# separate from the config so that the frequent small writes (a trip latching, a mode
# change) never put the config at risk, and a damaged state record costs only a boot count.
# Latched trips live here because they must survive a reboot (docs/references.md §5.2).

import binascii
import json
import os

from compat import const

_MAGIC = const(b"PE1")

# load() sources, best first.
LOADED = const(0)  # the file itself
RECOVERED = const(1)  # a complete tmp left by a cut between the two renames: the new copy
BACKUP = const(2)  # the previous good copy
DEFAULTS = const(3)


class OsFs:
    # The real filesystem; tests swap in a wrapper that cuts power mid-write.

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def write(self, path, data):
        with open(path, "wb") as f:
            f.write(data)
            f.flush()

    def rename(self, src, dst):
        os.rename(src, dst)

    def remove(self, path):
        os.remove(path)

    def exists(self, path):
        try:
            os.stat(path)
            return True
        except OSError:
            return False


def encode(kind, version, data):
    body = json.dumps(data).encode()
    head = "%s %s %d %d %08x\n" % (
        _MAGIC.decode(),
        kind,
        version,
        len(body),
        binascii.crc32(body),
    )
    return head.encode() + body


def decode(raw, kind, version):
    # The JSON value of a good record, or None when anything is off.
    nl = raw.find(b"\n")
    if nl < 0:
        return None
    head = raw[:nl].split()
    body = raw[nl + 1 :]
    try:
        if (
            len(head) != 5
            or head[0] != _MAGIC
            or head[1].decode() != kind
            or int(head[2]) != version
            or int(head[3]) != len(body)
            or int(head[4], 16) != binascii.crc32(body)
        ):
            return None
        return json.loads(body)
    except ValueError:  # bad number, bad UTF-8 or bad JSON
        return None


class Record:
    # One record kind in one file. validate(data) returns the cleaned data or raises
    # ValueError; it runs on every copy found, so a well-formed but out-of-range file is
    # treated like a corrupt one.

    def __init__(self, fs, folder, kind, version, validate, make_defaults):
        base = folder + "/" + kind if folder else kind
        self.path = base + ".json"
        self.tmp = base + ".tmp"
        self.bak = base + ".bak"
        self._fs = fs
        self.kind = kind
        self.version = version
        self._validate = validate
        self._defaults = make_defaults
        self.invalid = 0  # copies found damaged or invalid by the last load()

    def _read(self, path):
        if not self._fs.exists(path):
            return None
        try:
            data = decode(self._fs.read(path), self.kind, self.version)
        except OSError:
            data = None
        if data is not None:
            try:
                return self._validate(data)
            except (ValueError, TypeError, KeyError, AttributeError):
                pass
        self.invalid += 1
        return None

    def present(self):
        # Is any copy on flash (the record, its tmp or its backup)?
        fs = self._fs
        return fs.exists(self.path) or fs.exists(self.tmp) or fs.exists(self.bak)

    def load(self):
        # (data, source): never raises for a missing or damaged file.
        self.invalid = 0
        data = self._read(self.path)
        if data is not None:
            return data, LOADED
        if self.invalid:
            # Drop the damaged copy so the next save() does not rotate it over the good .bak.
            try:
                self._fs.remove(self.path)
            except OSError:
                pass
        else:
            data = self._read(self.tmp)
            if data is not None:
                try:
                    self._fs.rename(self.tmp, self.path)
                except OSError:
                    pass  # still usable from RAM; the next save() writes it again
                return data, RECOVERED
        data = self._read(self.bak)
        if data is not None:
            return data, BACKUP
        return self._defaults(), DEFAULTS

    def save(self, data):
        # Raises OSError when the flash write fails; the previous copy is then still whole.
        fs = self._fs
        fs.write(self.tmp, encode(self.kind, self.version, data))
        if fs.exists(self.path):
            fs.rename(self.path, self.bak)
        fs.rename(self.tmp, self.path)


# The state record.

_STATE_VERSION = const(1)
_KEYS = const(("boot", "reset", "trips", "modes", "op", "batch"))


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def validate_state(data):
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
    op = data.setdefault("op", {})  # not in a file from before operating minutes were kept
    if not isinstance(op, dict) or not all(_int(v) for v in op.values()):
        raise ValueError("op")
    batch = data.setdefault("batch", {})  # units/batch.py: [running, acid, base, heat]
    if not isinstance(batch, dict):
        raise ValueError("batch")
    for v in batch.values():
        if not isinstance(v, list) or len(v) != 4 or not all(_int(x) for x in v):
            raise ValueError("batch")
    return data


def _state_defaults():
    return {"boot": 0, "reset": 0, "trips": {}, "modes": {}, "op": {}, "batch": {}}


class State:
    def __init__(self, fs, folder):
        self._fs = fs
        self._folder = folder
        self._record = Record(fs, folder, "state", _STATE_VERSION, validate_state, _state_defaults)
        self.data = None
        self.source = DEFAULTS
        self.lost = False  # a damaged record and no good copy: latches may have been lost

    def boot(self, reset_cause):
        # Load, count this boot and persist it. A flash error is survivable: the board
        # then runs with the counts in RAM.
        self.data, self.source = self._record.load()
        self.lost = self.source == DEFAULTS and self._record.invalid > 0
        self.data["boot"] += 1
        self.data["reset"] = reset_cause
        self.save()

    def save(self):
        try:
            self._record.save(self.data)
            return True
        except OSError:
            return False

    def record(self, kind, version, validate, make_defaults):
        # A unit's own record beside this one (same flash folder and filesystem).
        return Record(self._fs, self._folder, kind, version, validate, make_defaults)

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

    def op_min(self, unit):
        # A unit's operating minutes, as last saved.
        return self.data["op"].get(unit, 0)

    def set_op_min(self, unit, minutes, save):
        self.data["op"][unit] = minutes
        return save and self.save()

    def batch(self, unit):
        # A unit's batch record (units/batch.py), as last saved; changes to it in place are
        # saved with the next save.
        return self.data["batch"].get(unit) or [0, 0, 0, 0]

    def set_batch(self, unit, rec):
        self.data["batch"][unit] = rec
        return self.save()
