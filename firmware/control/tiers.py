# pilotedge: foxBMS-style debounce counters and the three-tier limit monitor
# MOL < RSL < MSL built from them (MIT).
#
# Debounce: the counter rises by one on a bad sample and falls by one on a good one, capped
# at the threshold. The condition becomes active when the counter reaches the threshold and
# stays active until the counter is back at 0, so threshold x sample period is both the
# response time and the hysteresis (docs/references.md §5.1).
#
# Tiers (foxBMS practice, docs/references.md §5.1): a tier is active once its debounce
# counter reaches its threshold, threshold x sample period being the tier's response time.
# Latching an MSL trip is the caller's job: it must survive a reboot, so it lives with the
# persisted state.

from compat import const

OK = const(0)
MOL = const(1)
RSL = const(2)
MSL = const(3)


class Debounce:
    def __init__(self, threshold):
        self.threshold = threshold
        self.count = 0
        self.active = False

    def update(self, bad):
        c = self.count
        if bad:
            if c < self.threshold:
                c += 1
            if c >= self.threshold:
                self.active = True
        else:
            if c > 0:
                c -= 1
            if c == 0:
                self.active = False
        self.count = c
        return self.active

    def reset(self):
        self.count = 0
        self.active = False


class Tiers:
    def __init__(self, mol_count, rsl_count, msl_count):
        self._mol = Debounce(mol_count)
        self._rsl = Debounce(rsl_count)
        self._msl = Debounce(msl_count)
        self.level = OK

    def update(self, value, mol, rsl, msl):
        # Feed one sample; returns the highest active tier (OK ... MSL).
        a_mol = self._mol.update(value > mol)
        a_rsl = self._rsl.update(value > rsl)
        a_msl = self._msl.update(value > msl)
        self.level = MSL if a_msl else RSL if a_rsl else MOL if a_mol else OK
        return self.level

    def reset(self):
        self._mol.reset()
        self._rsl.reset()
        self._msl.reset()
        self.level = OK
