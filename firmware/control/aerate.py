# pilotedge: ORP-driven aeration: on/off with hysteresis and minimum on and off times (MIT).
#
# Iron-oxidising microbes need oxygen to turn Fe2+ into Fe3+, which is what raises the ORP
# (docs/control.md): below sp - band the air goes on, above sp + band off, and each state is
# held at least its minimum time (a valve and a blower are not switched every few seconds;
# dissolved oxygen follows the valve over minutes). No reading: the air stays on, as the
# microbes need it more than the set point does.


class Aeration:
    def __init__(self):
        self.on = True
        self._held_ms = 0  # in the present state

    def update(self, orp_mv, sp_mv, band_mv, min_on_ms, min_off_ms, dt_ms):
        self._held_ms += dt_ms
        if orp_mv is None:
            want = True
        elif orp_mv < sp_mv - band_mv:
            want = True
        elif orp_mv > sp_mv + band_mv:
            want = False
        else:
            want = self.on
        if want != self.on and self._held_ms >= (min_on_ms if self.on else min_off_ms):
            self.on = want
            self._held_ms = 0
        return self.on
