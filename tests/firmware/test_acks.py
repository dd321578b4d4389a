# The exactly-once memory: answers kept by time, not by count; a full memory refuses.
# Runs on CPython (pytest) and MicroPython (test_on_micropython.py).
from pilotproto import messages as m
from pilotproto import schema as s
from runtime.acks import CommandMemory

KEEP_S = m.CMD_KEEP_MS // 1000


def test_an_answer_is_found_by_its_cmd_id_with_every_field():
    mem = CommandMemory(4)
    i = mem.free(0)
    ack = mem.put(i, 0xDEADBEEF, m.VERB_DOSE, m.RESULT_IN_PROGRESS, m.REASON_NONE, 40, 900, 0)
    assert ack[s.ACK_CMD_ID] == 0xDEADBEEF and ack[s.ACK_VALUE] == 900
    assert mem.find(0xDEADBEEF) == i and mem.find(0xDEADBEEE) < 0 and mem.find(0) < 0
    mem.fill(1, 2, 3, 4, 5, 6)  # not kept
    again = mem.answer(i)
    assert again[s.ACK_VERB] == m.VERB_DOSE and again[s.ACK_PROGRESS] == 40
    assert again[s.ACK_RESULT] == m.RESULT_IN_PROGRESS and again[s.ACK_CMD_ID] == 0xDEADBEEF
    assert len(again) == s.ACK_NFIELDS and mem.find(1) < 0


def test_an_entry_is_kept_for_the_keep_time_after_its_last_answer_however_many_come():
    mem = CommandMemory(3)
    for cmd_id in (10, 11, 12):
        mem.put(mem.free(100), cmd_id, m.VERB_PING, m.RESULT_DONE, m.REASON_NONE, 100, 0, 100)
    assert mem.free(100 + KEEP_S) < 0  # full: every answer is younger than the keep time
    mem.put(mem.find(11), 11, m.VERB_DOSE, m.RESULT_DONE, m.REASON_NONE, 100, 5, 150)
    i = mem.free(101 + KEEP_S)
    assert i == mem.find(10) and i >= 0  # the oldest may go, 11 was refreshed at 150
    assert mem.free(150 + KEEP_S) >= 0 and mem.find(11) >= 0
    mem.put(i, 13, m.VERB_PING, m.RESULT_DONE, m.REASON_NONE, 100, 0, 101 + KEEP_S)
    assert mem.find(10) < 0 and mem.find(13) == i
