# pilotedge: three-tier limit monitor MOL < RSL < MSL with debounce counters (MIT).
#
# foxBMS practice (domain-facts 5.1): a tier is active once its debounce counter reaches its
# threshold, threshold x sample period being the tier's response time. Latching an MSL trip
# is the caller's job: it must survive a reboot, so it lives with the persisted state.

from compat import const
from control.debounce import Debounce

OK = const(0)
MOL = const(1)
RSL = const(2)
MSL = const(3)


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
