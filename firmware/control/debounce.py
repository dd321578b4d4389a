# pilotedge: foxBMS-style debounce counter (MIT).
#
# The counter rises by one on a bad sample and falls by one on a good one, capped at the
# threshold. The condition becomes active when the counter reaches the threshold and stays
# active until the counter is back at 0, so threshold x sample period is both the response
# time and the hysteresis (domain-facts 5.1).


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
