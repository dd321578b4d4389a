# pilotedge: dose limits that no command sequence and no reboot breaks (MIT).
#
# One DoseLine per reagent pump: per-dose cap, minimum interval between its doses, lockout
# against the opposite reagent (no acid within lockout_ms of base and vice versa), rolling
# hour and day budgets (control/budget.py), the reservoir volume (no dose from an empty one,
# a low mark for the alarm) and the delivered total. All ints in uL and ms, small on a
# 32-bit port: budgets and reservoirs up to 1073 L, clocks capped at a day.
#
# Persistence (the caller saves dump() in the power-cut-safe store):
# - save when a dose is committed, before the pump starts: windows and reservoir already
#   hold the whole dose, so a cut during the dose cannot forget it; save again when it ends
#   (the delivered total and the reservoir refund of a dose stopped early);
# - restore with load(): windows and clocks continue where the save left them, so the time
#   the board was off counts as zero (the board cannot know it) and a dose is never
#   forgotten early; the ages lost since the last save only make a window forget later;
# - a record that cannot be read, or only its backup (older: it may miss the last dose):
#   spend(), the windows are full until they expire (an hour, a day);
# - optionally save every N minutes while a window holds volume, so that after a reboot the
#   windows forget on time instead of up to N minutes late.
#
# Flash cost (derived): writes/day = 2 x doses/day + 1440 / N. Dosing at most every 2 min
# (60 s mixing dead time + measuring, docs/references.md §1.4) with N = 15: 2 x 720 + 96 =
# 1536 saves/day at worst; a holding loop dosing every ~10 min: ~380. A save is ~0.4 KB of
# JSON (two lines). MicroPython's littlefs (block_cycles 100) writes each save copy-on-write
# to a fresh block and relocates busy metadata, spreading erases over the free blocks: ~1.5
# erases of a 4 KB block per save (the tmp file's block + metadata commits; fewer on the
# RP2040, whose 1 KB cache keeps such a file inline in its metadata). ESP32, 2 MB
# filesystem, ~480 free blocks: 1536 x 1.5 / 480 = 4.8 erases per block per day, ~1750 a
# year against ~100k cycles of SPI NOR flash: ~57 years. Without wear levelling (all on one
# sector pair) the same rate would wear a sector out in about six weeks: littlefs's
# levelling is what makes per-dose saves affordable.

from compat import const
from control.budget import DoseBudget

# check() verdicts
OK = const(0)
CAP = const(1)  # above the per-dose cap (or not a volume)
EMPTY = const(2)  # the reservoir holds less than the dose
INTERVAL = const(3)  # too soon after this pump's last dose
LOCKOUT = const(4)  # too soon after the opposite reagent
HOUR = const(5)  # the rolling hour budget would be exceeded
DAY = const(6)  # the rolling day budget would be exceeded

UNTRACKED = const(-1)  # reservoir volume not entered: no reservoir check
SPENT_UL = const(0x20000000)  # fills a window whatever its limit (2**29, still a small int)
_CLOCK_CAP_MS = const(86400000)
_MAX_UL = const(0x3FFFFFFF)  # the largest small int of a 32-bit port
_HEAD = const(4)  # since_ms, reservoir_ul, total_ml, total_ul; then each window: i, age, sums


class DoseLine:
    def __init__(self):
        self.budget = DoseBudget()
        self.set_limits(0, 0, 0, 0, 0, 0)
        self.since_ms = _CLOCK_CAP_MS  # since this pump's last dose started
        self.reservoir_ul = UNTRACKED
        self.total_ml = 0  # delivered, whole mL and the uL past them
        self.total_ul = 0

    def set_limits(self, cap_ul, hour_ul, day_ul, interval_ms, lockout_ms, low_ul):
        # From the unit's params; call again when they change.
        self.cap_ul = cap_ul
        self.hour_ul = hour_ul
        self.day_ul = day_ul
        self.interval_ms = interval_ms
        self.lockout_ms = lockout_ms
        self.low_ul = low_ul

    def advance(self, dt_ms):
        self.budget.advance(dt_ms)
        s = self.since_ms + dt_ms
        self.since_ms = _CLOCK_CAP_MS if s > _CLOCK_CAP_MS else s

    def check(self, vol_ul, other):
        # May a dose of vol_ul start now? other: the opposite reagent's line, or None.
        if not 0 < vol_ul <= self.cap_ul:
            return CAP
        if self.reservoir_ul != UNTRACKED and self.reservoir_ul < vol_ul:
            return EMPTY
        if self.since_ms < self.interval_ms:
            return INTERVAL
        if other is not None and other.since_ms < self.lockout_ms:
            return LOCKOUT
        if self.budget.hour.total + vol_ul > self.hour_ul:
            return HOUR
        if self.budget.day.total + vol_ul > self.day_ul:
            return DAY
        return OK

    def commit(self, vol_ul):
        # A dose accepted by check(): booked whole now; save the state before the pump runs.
        self.take(vol_ul)
        self.since_ms = 0

    def take(self, vol_ul):
        # Volume that leaves the reservoir outside a dose (a manual run, as it runs).
        self.budget.add(vol_ul)
        if self.reservoir_ul != UNTRACKED:
            self.reservoir_ul = max(0, self.reservoir_ul - vol_ul)

    def refund(self, vol_ul):
        # The part of a committed dose the pump did not deliver goes back to the reservoir
        # (the windows keep it: they may only ever err high).
        if self.reservoir_ul != UNTRACKED:
            self.reservoir_ul += vol_ul

    def delivered(self, vol_ul):
        ul = self.total_ul + vol_ul
        self.total_ml += ul // 1000
        self.total_ul = ul % 1000

    def low(self):
        return self.reservoir_ul != UNTRACKED and self.reservoir_ul <= self.low_ul

    def spend(self):
        # The dose state could not be read: both windows full until they expire.
        for w in (self.budget.hour, self.budget.day):
            for k in range(len(w._sums)):
                w._sums[k] = 0
            w._sums[w._i] = SPENT_UL
            w.total = SPENT_UL

    def dump(self):
        out = [self.since_ms, self.reservoir_ul, self.total_ml, self.total_ul]
        for w in (self.budget.hour, self.budget.day):
            out.append(w._i)
            out.append(w._age_ms)
            out.extend(w._sums)
        return out

    def load(self, data):
        # data: a dump() that validate() passed.
        self.since_ms, self.reservoir_ul, self.total_ml, self.total_ul = data[:_HEAD]
        at = _HEAD
        for w in (self.budget.hour, self.budget.day):
            n = len(w._sums)
            w._i = data[at]
            w._age_ms = data[at + 1]
            w._sums[:] = data[at + 2 : at + 2 + n]
            w.total = sum(w._sums)
            at += 2 + n


def _int(v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError("dose state")


def validate(data):
    # Store validate function for {"lines": [dump() of each DoseLine]}.
    if not isinstance(data, dict) or list(data) != ["lines"]:
        raise ValueError("dose state")
    shape = DoseBudget()
    windows = (shape.hour, shape.day)
    length = _HEAD
    for w in windows:
        length += 2 + len(w._sums)
    for line in data["lines"]:
        if not isinstance(line, list) or len(line) != length:
            raise ValueError("dose state")
        _int(line[0], 0, _CLOCK_CAP_MS)
        _int(line[1], UNTRACKED, _MAX_UL)
        _int(line[2], 0, _MAX_UL)
        _int(line[3], 0, 999)
        at = _HEAD
        for w in windows:
            n = len(w._sums)
            _int(line[at], 0, n - 1)
            _int(line[at + 1], 0, w._bucket_ms - 1)
            for v in line[at + 2 : at + 2 + n]:
                _int(v, 0, _MAX_UL)
            at += 2 + n
    return data
