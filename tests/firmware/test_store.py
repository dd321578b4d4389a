# The flash store: checksummed records, atomic replace, recovery, and the config and state
# records built on it. A power cut is simulated at every byte of a write and at every rename.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from fwcheck import raises
from tmpflash import clear_dir, tmpdir

from runtime import store
from runtime.params import Params
from runtime.store import State

UNITS = [("v0", "vessel"), ("c0", "canister")]
LIMITS = {"heater_max_pct": 100, "pump_max_duty_pct": 50, "pressure_msl_max_bar": 30.0}


class PowerCut(Exception):
    pass


class CutFs(store.OsFs):
    # The real filesystem until `budget` units of work are spent (one per byte written, one
    # per rename or remove); then the power goes: the write stops mid-way, nothing else runs.
    def __init__(self, budget):
        self.budget = budget

    def _spend(self, units):
        if self.budget < units:
            raise PowerCut()
        self.budget -= units

    def write(self, path, data):
        n = min(len(data), self.budget)
        self.budget -= n
        with open(path, "wb") as f:
            f.write(data[:n])
        if n < len(data):
            raise PowerCut()

    def rename(self, src, dst):
        self._spend(1)
        super().rename(src, dst)

    def remove(self, path):
        self._spend(1)
        super().remove(path)


def _record(folder, fs=None, version=1):
    def validate(data):
        if not isinstance(data.get("x"), int):
            raise ValueError("x")
        return data

    return store.Record(fs or store.OsFs(), folder, "rec", version, validate, lambda: {"x": 0})


def test_round_trip_and_header_checks():
    raw = store.encode("rec", 1, {"x": 5})
    assert raw.startswith(b"PE1 rec 1 ")
    assert store.decode(raw, "rec", 1) == {"x": 5}
    assert store.decode(raw, "other", 1) is None
    assert store.decode(raw, "rec", 2) is None
    assert store.decode(raw[:-1], "rec", 1) is None  # truncated
    assert store.decode(b"", "rec", 1) is None


def test_every_single_byte_corruption_is_detected():
    raw = store.encode("rec", 1, {"x": 12345, "note": "abc"})
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x41
        assert store.decode(bytes(bad), "rec", 1) is None, i


def test_missing_gives_defaults_then_saves_and_keeps_backup():
    d = tmpdir()
    rec = _record(d)
    assert rec.load() == ({"x": 0}, store.DEFAULTS)
    rec.save({"x": 1})
    rec.save({"x": 2})
    assert rec.load() == ({"x": 2}, store.LOADED)
    with open(rec.path, "wb") as f:
        f.write(b'PE1 rec 1 9 00000000\n{"x": 3}')  # bad CRC
    assert rec.load() == ({"x": 1}, store.BACKUP) and rec.invalid == 1
    rec.save({"x": 4})  # the damaged copy was dropped: .bak still holds the good x=1
    assert rec.load() == ({"x": 4}, store.LOADED)
    clear_dir(d)
    assert rec.load() == ({"x": 0}, store.DEFAULTS)


def test_invalid_content_counts_as_damage():
    d = tmpdir()
    rec = _record(d)
    rec.save({"x": 1})
    with open(rec.path, "wb") as f:
        f.write(store.encode("rec", 1, {"x": "text"}))  # well formed, fails validation
    assert rec.load() == ({"x": 0}, store.DEFAULTS) and rec.invalid == 1


def test_power_cut_at_every_byte_and_rename_leaves_a_valid_store():
    d = tmpdir()
    old, new = {"x": 111}, {"x": 222222}
    for first_write in (False, True):
        # Bytes of the tmp file, plus the renames: current -> .bak (not on a first write),
        # tmp -> current.
        cost = len(store.encode("rec", 1, new)) + (1 if first_write else 2)
        for budget in range(cost + 1):
            clear_dir(d)
            if not first_write:
                _record(d).save(old)
            fs = CutFs(budget)
            try:
                _record(d, fs).save(new)
                cut = False
            except PowerCut:
                cut = True
            assert cut == (budget < cost), budget
            data, source = _record(d).load()  # after the reboot
            if first_write and data != new:
                assert (data, source) == ({"x": 0}, store.DEFAULTS), budget
            else:
                assert data in (old, new) and source != store.DEFAULTS, (budget, data, source)
            if budget == cost:
                assert data == new
            # The store still works after the recovery.
            _record(d).save({"x": 7})
            assert _record(d).load() == ({"x": 7}, store.LOADED)


def test_config_validation_rules():
    p = Params(store.OsFs(), tmpdir(), UNITS, LIMITS)
    good = p.defaults()
    assert p.validate(good) == good
    assert good["c0"]["p_msl"] == 28000 and good["board"]["tlm_period"] == 1000
    for unit, key, value in (
        ("v0", "ph_sp", 3000),  # above ph_high 2.3: cross-field rule
        ("v0", "ph_low", 1800),  # above ph_sp
        ("c0", "p_rsl", 29000),  # above p_msl
        ("c0", "t_mol", 7000),  # above t_rsl
        ("c0", "p_msl", 31000),  # above the board's 30 bar hardware limit
        ("v0", "temp_sp", 100),  # below the spec range
        ("v0", "ph_sp", 1.7),  # not a raw integer
        ("v0", "ph_sp", True),
        ("v0", "nosuch", 1),  # unknown key
    ):
        bad = p.defaults()
        bad[unit][key] = value
        raises(ValueError, p.validate, bad)
    bad = p.defaults()
    bad["v9"] = {}
    raises(ValueError, p.validate, bad)
    old = p.defaults()
    del old["v0"]["acid_ml_day"]  # a file from before a param existed
    assert p.validate(old)["v0"]["acid_ml_day"] == 500000


def test_hw_limits_clip_defaults_and_maxima():
    limits = dict(LIMITS, heater_max_pct=60, pressure_msl_max_bar=25.0)
    p = Params(store.OsFs(), tmpdir(), UNITS, limits)
    p.load()
    assert p.values["v0"]["heater_max"] == 60
    assert p.values["c0"]["p_msl"] == 25000 and p.ok
    limits["pressure_msl_max_bar"] = 20.0  # p_rsl 22 > 20: the order cannot hold
    p = Params(store.OsFs(), tmpdir(), UNITS, limits)
    p.load()
    assert not p.ok


def test_state_counts_boots_and_keeps_latches():
    d = tmpdir()
    s = State(store.OsFs(), d)
    s.boot(0)
    assert s.data["boot"] == 1 and s.trip("c0", 43) == 0 and not s.lost
    s.set_trip("c0", 40)
    s.set_modes("v0", [2, 2, 0])
    s = State(store.OsFs(), d)
    s.boot(2)
    assert s.data["boot"] == 2 and s.data["reset"] == 2
    assert s.trip("c0", 43) == 40 and s.modes("v0", None) == [2, 2, 0]
    s.set_trip("c0", 0)
    s = State(store.OsFs(), d)
    s.boot(0)
    assert s.trip("c0", 43) == 0 and s.data["boot"] == 3
    for name in ("state.json", "state.bak"):  # both copies damaged: latches unknown
        with open(d + "/" + name, "wb") as f:
            f.write(b"PE1 state 1 2 00000000\n{}")
    s = State(store.OsFs(), d)
    s.boot(0)
    assert s.lost and s.trip("c0", 43) == 43 and s.data["boot"] == 1
