# pilotedge: the exactly-once memory of COMMAND answers, kept by time (MIT).
#
# Each COMMAND's cmd_id and latest ACK are kept for at least CMD_KEEP_MS after that ACK,
# twice a host's whole retry window with the wait after IN_PROGRESS (protocol/README.md),
# so a retransmission in that time is answered from here and never runs again, however many
# other commands came meanwhile. A running command refreshes its entry with every progress
# report, so it is kept while it runs. The memory holds CMD_MEMORY entries: a new command
# that finds none free (more than CMD_MEMORY new ones within CMD_KEEP_MS) is refused BUSY
# by the link and not remembered; it did not run, so a resend of it may run it, once.
#
# Allocation-free once built: a cmd_id is kept as two 16-bit halves (a 32-bit id is a long
# on a 32-bit port, each half a small int), times as whole uptime seconds; about 16 bytes
# an entry.

from array import array

from pilotproto import messages as m

_KEEP_S = (m.CMD_KEEP_MS + 999) // 1000
# ACK fields kept in one bytearray, 4 per entry: verb, result, reason, progress.
_BYTES = (m.ACK_VERB, m.ACK_RESULT, m.ACK_REASON, m.ACK_PROGRESS)
_NB = len(_BYTES)


class CommandMemory:
    def __init__(self, size=m.CMD_MEMORY):
        self.size = size
        self._hi = array("H", [0] * size)
        self._lo = array("H", [0] * size)
        self._t = array("i", [0] * size)  # uptime s of the entry's last ACK
        self._used = bytearray(size)
        self._bytes = bytearray(_NB * size)
        self._value = [0] * size  # any int: a value that does not fit fails at encoding
        self.ack = [0] * m.ACK_NFIELDS  # the ACK value list filled by answer() and fill()

    def find(self, cmd_id):
        # Index of cmd_id's entry, or -1.
        hi = cmd_id >> 16
        lo = cmd_id & 0xFFFF
        for i in range(self.size):
            if self._lo[i] == lo and self._hi[i] == hi and self._used[i]:
                return i
        return -1

    def free(self, now_s):
        # Index of an entry that may be reused (never used, or its last ACK is more than
        # CMD_KEEP_MS old), or -1: the memory is full.
        for i in range(self.size):
            if not self._used[i] or now_s - self._t[i] > _KEEP_S:
                return i
        return -1

    def put(self, i, cmd_id, verb, result, reason, progress, value, now_s):
        # Keep an answer in entry i (from now_s on); returns it as an ACK value list.
        self._hi[i] = cmd_id >> 16
        self._lo[i] = cmd_id & 0xFFFF
        self._t[i] = now_s
        self._used[i] = 1
        b = self._bytes
        k = i * _NB
        b[k] = verb
        b[k + 1] = result
        b[k + 2] = reason
        b[k + 3] = progress
        self._value[i] = value
        return self.answer(i)

    def answer(self, i):
        # Entry i as an ACK value list (valid until the next answer() or fill()).
        a = self.ack
        a[m.ACK_CMD_ID] = self._hi[i] << 16 | self._lo[i]
        k = i * _NB
        for j in range(_NB):
            a[_BYTES[j]] = self._bytes[k + j]
        a[m.ACK_VALUE] = self._value[i]
        return a

    def fill(self, cmd_id, verb, result, reason, progress, value):
        # An ACK value list that is not kept (a refusal for want of room).
        a = self.ack
        a[m.ACK_CMD_ID] = cmd_id
        a[m.ACK_VERB] = verb
        a[m.ACK_RESULT] = result
        a[m.ACK_REASON] = reason
        a[m.ACK_PROGRESS] = progress
        a[m.ACK_VALUE] = value
        return a
