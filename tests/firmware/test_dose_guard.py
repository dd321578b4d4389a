# Dose limits: cap, interval, acid/base lockout, hour/day budgets, reservoirs, and the dose
# state that survives reboots (off time counts as zero, unreadable = spent).
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from tmpflash import clear_dir, tmpdir

from control import doseguard
from control.doseguard import (
    CAP,
    DAY,
    EMPTY,
    HOUR,
    INTERVAL,
    LOCKOUT,
    OK,
    UNTRACKED,
    DoseLine,
    validate,
)
from runtime import store

MIN_MS = 60000
HOUR_MS = 3600000


def line(hour_ul=100000, day_ul=500000):
    # Cap 50 mL, 100 mL/h, 500 mL/day, 60 s between doses, 300 s acid/base lockout, low at
    # 200 mL.
    d = DoseLine()
    d.set_limits(50000, hour_ul, day_ul, MIN_MS, 5 * MIN_MS, 200000)
    return d


def test_each_limit_refuses_with_its_reason():
    acid, base = line(), line()
    assert acid.check(50001, base) == CAP and acid.check(0, base) == CAP
    assert acid.check(50000, base) == OK
    acid.commit(50000)
    assert acid.check(10000, base) == INTERVAL
    assert base.check(10000, acid) == LOCKOUT
    acid.advance(MIN_MS)
    assert acid.check(50000, base) == OK
    acid.commit(50000)
    acid.advance(MIN_MS)
    assert acid.check(1, base) == HOUR  # 100 mL in the hour
    assert base.check(10000, acid) == LOCKOUT  # 60 s after acid
    base.advance(4 * MIN_MS)
    acid.advance(4 * MIN_MS)
    assert base.check(10000, acid) == OK  # 300 s after acid
    for _ in range(4):  # 400 mL more over the next hours
        acid.advance(HOUR_MS)
        acid.commit(50000)
        acid.advance(MIN_MS)
        acid.commit(50000)
    acid.advance(HOUR_MS)
    assert acid.budget.hour.total == 0 and acid.check(1, None) == DAY  # 500 mL in the day
    acid.advance(19 * HOUR_MS)  # 24 h after the first dose
    assert acid.check(50000, None) == OK


def test_reservoir_low_and_empty():
    d = line()
    assert not d.low() and d.reservoir_ul == UNTRACKED
    d.reservoir_ul = 260000
    d.commit(50000)
    assert not d.low() and d.reservoir_ul == 210000
    d.delivered(30000)
    d.refund(20000)  # stopped after 30 of 50 mL
    assert d.reservoir_ul == 230000 and d.total_ml == 30 and d.total_ul == 0
    d.take(30000)  # a manual run
    d.delivered(30000)
    assert d.low() and d.reservoir_ul == 200000
    d.advance(2 * HOUR_MS)
    d.reservoir_ul = 40000
    assert d.check(40001, None) == EMPTY and d.check(40000, None) == OK
    d.delivered(1500)
    assert d.total_ml == 61 and d.total_ul == 500


def reboot(saved, hour_ul=100000, day_ul=500000):
    # Fresh lines loaded from dump()s through the store's encoding: what a reboot reads back.
    raw = store.encode("dose_v0", 1, {"lines": saved})
    lines = []
    for data in validate(store.decode(raw, "dose_v0", 1))["lines"]:
        d = line(hour_ul, day_ul)
        d.load(data)
        lines.append(d)
    return lines


def test_round_trip_continues_the_same_windows():
    acid, base = line(), line()
    acid.reservoir_ul = 1000000
    acid.commit(50000)
    acid.delivered(50000)
    acid.advance(50 * MIN_MS)
    base.advance(3 * MIN_MS)
    acid2, base2 = reboot([acid.dump(), base.dump()])
    assert acid2.dump() == acid.dump() and base2.dump() == base.dump()
    assert acid2.budget.hour.total == 50000 and acid2.since_ms == 50 * MIN_MS
    # The board was off for two hours: that counts as zero, the dose stays in the hour.
    assert acid2.check(50000, None) == OK
    acid2.budget.add(50000)
    assert acid2.check(1, None) == HOUR
    acid2.advance(10 * MIN_MS)  # 60 min of operating time after the first dose
    assert acid2.budget.hour.total == 50000


def test_no_reboot_sequence_beats_the_day_budget():
    # The attack: 700 mL in 4.7 h against 500 mL/day by rebooting between doses. A
    # board saves before each dose runs, and every other cycle; a power cut may come before
    # or after a save. Delivered volume in any 24 h of time must stay within the budget.
    d = line(hour_ul=500000, day_ul=500000)
    flash = d.dump()  # what the store holds
    dosed = []  # (ms since the start, uL) actually pumped
    now = 0
    for k in range(600):
        if d.check(50000, None) == OK:
            d.commit(50000)
            if k % 3:  # saved, then the pump ran; else the power went before the save
                flash = d.dump()
                dosed.append((now, 50000))
        step = (k * 7919) % (20 * MIN_MS) + MIN_MS
        now += step
        d.advance(step)
        if k % 2:
            flash = d.dump()  # a periodic save (else the time since the last is lost)
        if k % 3 == 0 or k % 7 == 0:
            d = reboot([flash], 500000, 500000)[0]  # from the flash
    worst = max(sum(v for t, v in dosed if start <= t < start + 24 * HOUR_MS)
                for start, _ in dosed)
    # Never more than the budget; close to it (time lost to reboots only delays the refill).
    assert 400000 <= worst <= 500000


def test_unreadable_state_is_spent_until_the_windows_expire():
    folder = tmpdir()
    record = store.Record(store.OsFs(), folder, "dose_v0", 1, validate, lambda: None)
    acid = line()
    acid.commit(10000)
    record.save({"lines": [acid.dump()]})
    data, source = record.load()
    assert source == store.LOADED and data["lines"][0] == acid.dump()
    with open(record.path, "wb") as f:
        f.write(b"PE1 dose_v0 1 9 00000000\n{garbage}")
    with open(record.bak, "wb") as f:
        f.write(b"")
    data, source = record.load()
    assert source == store.DEFAULTS and record.invalid > 0
    clear_dir(folder)
    d = line()
    d.spend()
    assert d.check(1, None) == HOUR
    d.advance(HOUR_MS)
    assert d.check(1, None) == DAY
    d.advance(23 * HOUR_MS)
    assert d.check(50000, None) == OK


def test_validate_refuses_damaged_states():
    good = line().dump()
    assert validate({"lines": [good, good]})
    n = len(good)
    bad = []
    for k, v in ((0, -1), (1, -2), (3, 1000), (4, 12), (5, 300000), (6, -5), (n - 1, True)):
        broken = list(good)
        broken[k] = v
        try:
            validate({"lines": [broken]})
            bad.append(k)
        except ValueError:
            pass
    for data in ({"lines": [good[:-1]]}, {"lines": [good], "x": 1}, {"lines": [1]}, []):
        try:
            validate(data)
            bad.append(data)
        except ValueError:
            pass
    assert bad == []
    assert doseguard.SPENT_UL < 2**30  # a small int on a 32-bit port
