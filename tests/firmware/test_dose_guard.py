# Dose limits: cap, interval, acid/base lockout, hour/day budgets, reservoirs, and the dose
# state that survives reboots (off time counts as zero, unreadable = spent).
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from tmpflash import clear_dir, tmpdir

from control import doseguard
from control.doseguard import SPENT_UL, UNTRACKED, DoseLine, validate
from pilotproto import messages as m
from runtime import store

MIN_MS = 60000
HOUR_MS = 3600000
OK = m.LIMIT_NONE


def line(hour_ul=100000, day_ul=500000, margin_ul=0):
    # Cap 50 mL, 100 mL/h, 500 mL/day, 60 s between doses, 300 s acid/base lockout, low at
    # 200 mL.
    d = DoseLine()
    d.set_limits(50000, hour_ul, day_ul, MIN_MS, 5 * MIN_MS, 200000)
    d.margin_ul = margin_ul
    return d


def run(d, vol_ul, ms=MIN_MS):
    # A run of vol_ul committed, delivered over `ms` and ended.
    d.commit(vol_ul)
    d.advance(ms)
    d.delivered(vol_ul)
    d.refund()


def test_each_limit_refuses_with_its_reason():
    acid, base = line(), line()
    assert acid.check(50001, base) == m.LIMIT_CAP and acid.check(0, base) == m.LIMIT_CAP
    assert acid.check(50000, base) == OK
    acid.commit(50000)
    assert base.check(10000, acid) == m.LIMIT_LOCKOUT  # while acid runs
    acid.advance(10 * MIN_MS)  # a long dose: the interval counts from its end
    assert acid.since_ms == 0 and base.check(10000, acid) == m.LIMIT_LOCKOUT
    acid.delivered(50000)
    acid.refund()
    acid.advance(30000)
    assert acid.check(10000, base) == m.LIMIT_INTERVAL
    acid.advance(30000)
    assert acid.check(50000, base) == OK
    run(acid, 50000)
    assert acid.check(1, base) == m.LIMIT_INTERVAL
    acid.advance(MIN_MS)
    assert acid.check(1, base) == m.LIMIT_HOUR  # 100 mL in the hour
    assert base.check(10000, acid) == m.LIMIT_LOCKOUT  # 1 min after acid
    base.advance(4 * MIN_MS)
    acid.advance(4 * MIN_MS)
    assert base.check(10000, acid) == OK  # 300 s after acid
    for _ in range(4):  # 400 mL more over the next hours
        acid.advance(HOUR_MS)
        run(acid, 50000)
        acid.advance(MIN_MS)
        run(acid, 50000)
    acid.advance(HOUR_MS + 5 * MIN_MS)
    assert acid.budget.hour.total == 0 and acid.check(1, None) == m.LIMIT_DAY  # 500 mL a day
    acid.advance(20 * HOUR_MS)  # 25 h after the first dose
    assert acid.check(50000, None) == OK


def test_pending_runs_count_and_a_window_forgets_no_earlier_than_its_span():
    d = line(margin_ul=40)
    d.set_limits(200000, 100000, 500000, 0, 0, 0)
    assert d.check(99960, None) == OK and d.check(99961, None) == m.LIMIT_HOUR  # + margin
    d.commit(60000)
    assert d.pending_ul == 60040 and d.check(39921, None) == m.LIMIT_HOUR
    assert d.room(None) == 100000 - 60040 - 40
    d.advance(4 * MIN_MS)
    d.delivered(60003)  # a pass more than asked: booked too
    d.refund()
    assert d.pending_ul == 0 and d.budget.hour.total == 60003
    d.advance(MIN_MS + 59 * MIN_MS)  # the last uL went in 60 min ago
    assert d.budget.hour.total == 60003
    d.advance(5 * MIN_MS)
    assert d.budget.hour.total == 0


def test_room_and_lockout_for_runs_that_are_not_doses():
    acid, base = line(margin_ul=10), line()
    acid.set_limits(1, 100000, 500000, HOUR_MS, 5 * MIN_MS, 0)  # cap and interval: not these
    assert acid.check(30000, base, False) == OK and acid.room(base) == 99990
    base.commit(1000)
    assert acid.room(base) == 0 and acid.check(100, base, False) == m.LIMIT_LOCKOUT
    acid.reservoir_ul = 5000
    assert acid.room(None) == 4990 and acid.check(4991, None, False) == m.LIMIT_EMPTY


def test_reservoir_low_and_empty():
    d = line()
    assert not d.low() and d.reservoir_ul == UNTRACKED
    d.reservoir_ul = 260000
    d.commit(50000)
    assert not d.low() and d.reservoir_ul == 210000
    d.delivered(30000)
    d.refund()  # stopped after 30 of 50 mL
    assert d.reservoir_ul == 230000 and d.total_ml == 30 and d.total_ul == 0
    run(d, 30000)
    assert d.low() and d.reservoir_ul == 200000
    d.advance(2 * HOUR_MS)
    d.reservoir_ul = 40000
    assert d.check(40001, None) == m.LIMIT_EMPTY and d.check(40000, None) == OK
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
    run(acid, 50000)
    acid.advance(50 * MIN_MS)
    base.advance(3 * MIN_MS)
    acid2, base2 = reboot([acid.dump(), base.dump()])
    assert acid2.dump() == acid.dump() and base2.dump() == base.dump()
    assert acid2.budget.hour.total == 50000 and acid2.since_ms == 50 * MIN_MS
    # The board was off for two hours: that counts as zero, the dose stays in the hour.
    assert acid2.check(50000, None) == OK
    acid2.commit(50000)
    assert acid2.check(1, None) == m.LIMIT_INTERVAL and acid2.room(None) == 0
    acid2.advance(14 * MIN_MS)  # 65 min of operating time after the first dose
    assert acid2.budget.hour.total == 0 and acid2.pending_ul == 50000


def test_a_run_cut_off_by_a_reboot_is_booked_whole():
    d = line()
    d.reservoir_ul = 300000
    d.commit(40000)  # saved before the pump starts ...
    saved = d.dump()
    d.advance(MIN_MS)
    d.delivered(10000)  # ... and the power goes a minute into the run
    d2 = reboot([saved])[0]
    assert d2.pending_ul == 0 and d2.budget.hour.total == 40000 and d2.budget.day.total == 40000
    assert d2.total_ml == 40 and d2.reservoir_ul == 260000 and d2.check(60001, None) != OK


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
                d.delivered(50000)
                d.refund()
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
    assert d.check(1, None) == m.LIMIT_HOUR and d.budget.hour.total == SPENT_UL
    d.advance(HOUR_MS)
    assert d.check(1, None) == m.LIMIT_HOUR  # 60 to 65 min: never early
    d.advance(5 * MIN_MS)
    assert d.check(1, None) == m.LIMIT_DAY
    d.advance(24 * HOUR_MS)
    assert d.check(50000, None) == OK


def test_validate_refuses_damaged_states():
    good = line().dump()
    assert validate({"lines": [good, good]})
    n = len(good)
    bad = []
    for k, v in ((0, -1), (1, -2), (3, 1000), (4, -1), (5, 13), (6, 300000), (7, -5),
                 (n - 1, True)):
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
