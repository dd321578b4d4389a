# pilotedge: a vessel's batch: the reagent it took as delivered and its heater energy (MIT).
#
# BATCH_START takes the pumps' delivered totals as the batch's zero (a prime is not in them,
# control/doseguard.py) and counts the heater's on-time at the board file's heater power;
# BATCH_STOP freezes the figures, which telemetry shows until the next start. The record
# lives in the state record (runtime/store.py): saved at start and stop and with the hourly
# operating-minute save, so a power cut loses at most an hour of heater energy and never
# reagent (the totals are in the dose state, saved with every run).

from compat import const

_RUNNING = const(0)
_ACID = const(1)
_BASE = const(2)
_HEAT_J = const(3)
_J_PER_CWH = const(36)  # 1 Wh = 3600 J


class Batch:
    def __init__(self, state, unit, heater_w):
        self._state = state
        self._unit = unit
        self._heater_w = heater_w
        self._on_ms = 0  # heater on-time not yet booked in whole seconds
        # [running, acid uL, base uL, heater J]: while running the pumps' totals at its
        # start, else what the last batch took.
        self.rec = state.batch(unit)

    def running(self):
        return self.rec[_RUNNING] == 1

    def start(self, acid_ul, base_ul):
        # True when saved (else it runs in RAM until the next save).
        self.rec = [1, acid_ul, base_ul, 0]
        self._on_ms = 0
        return self._state.set_batch(self._unit, self.rec)

    def stop(self, acid_ul, base_ul):
        acid, base, _heat = self.figures(acid_ul, base_ul)
        self.rec = [0, acid, base, self.rec[_HEAT_J]]
        return self._state.set_batch(self._unit, self.rec)

    def heat(self, on, dt_ms):
        # Every io pass: the heater was on for the last dt_ms.
        if on and self.rec[_RUNNING]:
            ms = self._on_ms + dt_ms
            if ms >= 1000:
                self.rec[_HEAT_J] += self._heater_w * (ms // 1000)
                ms %= 1000
            self._on_ms = ms

    def figures(self, acid_ul, base_ul):
        # (acid uL, base uL, heater centi-Wh) of the batch, given the pumps' totals now.
        r = self.rec
        if not r[_RUNNING]:
            return r[_ACID], r[_BASE], r[_HEAT_J] // _J_PER_CWH
        return max(0, acid_ul - r[_ACID]), max(0, base_ul - r[_BASE]), r[_HEAT_J] // _J_PER_CWH
