# pilotedge: rolling-window dose budgets (MIT).
#
# A window is a ring of buckets, so "in the last hour" costs a few ints instead of a log of
# doses. It covers between (n - 1) and n buckets, so it has one bucket more than its span:
# with 13 x 5 min the hourly sum forgets a dose 60 to 65 min after it, never before the
# hour is over (a budget may err high, never low). Time advances by dt_ms from the caller.


class RollingSum:
    def __init__(self, buckets, bucket_ms):
        self._sums = [0] * buckets
        self._bucket_ms = bucket_ms
        self._i = 0
        self._age_ms = 0  # time spent in the current bucket
        self.total = 0

    def advance(self, dt_ms):
        n = len(self._sums)
        self._age_ms += dt_ms
        if self._age_ms >= self._bucket_ms * n:
            # Longer than the whole window: everything has expired.
            for k in range(n):
                self._sums[k] = 0
            self.total = 0
            self._age_ms %= self._bucket_ms
            return
        while self._age_ms >= self._bucket_ms:
            self._age_ms -= self._bucket_ms
            self._i = (self._i + 1) % n
            self.total -= self._sums[self._i]
            self._sums[self._i] = 0

    def add(self, value):
        self._sums[self._i] += value
        self.total += value


class DoseBudget:
    # Hour (13 x 5 min: 60-65 min) and day (25 x 1 h: 24-25 h) totals of one reagent, in
    # microlitres.

    def __init__(self):
        self.hour = RollingSum(13, 300000)
        self.day = RollingSum(25, 3600000)

    def advance(self, dt_ms):
        self.hour.advance(dt_ms)
        self.day.advance(dt_ms)

    def add(self, vol_ul):
        self.hour.add(vol_ul)
        self.day.add(vol_ul)
