"""Links on one reader thread, and a read's frames handled as one run: split where a board
restarts, its heartbeats answered once, answers after the subscribers. The boards here are
scripted: they send exactly the bytes a test gives them, in one write."""

import socket
import threading

import pytest
from loggerkit import fields_of, received, wait_until

from pilotedge import codec, link
from pilotedge.reader import Reader
from pilotproto import messages as m

VESSEL = fields_of("VESSEL", {"unit": 0, "ph": 1.7, "temp": 35.0, "orp": 600, "ph_sp": 1.7,
                             "temp_sp": 35.0, "ph_mode": "AUTO", "temp_mode": "AUTO",
                             "sensor_ok": 7})


def heartbeat(seq, uptime):
    return codec.encode("HEARTBEAT", {"uptime": uptime, "state": "RUN", "faults": 0,
                                      "overruns": 0, "cycle_max": 0, "heap_free": 0,
                                      "rx_errors": 0}, seq)


def vessel(seq):
    return codec.encode("VESSEL", VESSEL, seq)


def hello(seq, boot_count):
    return codec.encode("HELLO", {
        "board_id": "scripted", "fw_major": 0, "fw_minor": 1, "fw_patch": 0,
        "proto_version": m.VERSION, "schema_hash": m.SCHEMA_HASH, "boot_count": boot_count,
        "reset_cause": "POWER_ON", "vessels": 1, "canisters": 0, "uptime": 0.0}, seq)


class ScriptedBoard:
    """A board on socket:// that sends what send() is given in one write and keeps the
    frames the host sends it."""

    def __init__(self):
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = "socket://127.0.0.1:%d" % self._server.getsockname()[1]
        self.from_host = []
        self._conn = None
        self._connected = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self._conn, _ = self._server.accept()
        self._connected.set()
        decoder = codec.StreamDecoder()
        for data in received(self._conn):
            self.from_host += [f.name for f in decoder.feed(data)]

    def send(self, *frames):
        assert self._connected.wait(10), "the host did not connect"
        self._conn.sendall(b"".join(frames))

    def hang_up(self):
        self._conn.shutdown(socket.SHUT_RDWR)
        self._conn.close()

    def close(self):
        self._server.close()
        if self._conn is not None:
            self._conn.close()


@pytest.fixture
def boards():
    made = []

    def make():
        made.append(ScriptedBoard())
        return made[-1]

    yield make
    for board in made:
        board.close()


def test_a_read_is_one_run_split_where_the_board_restarts(boards):
    board = boards()
    with link.Link(board.url) as li:
        runs, each, uptimes = [], [], []

        def on_run(frames):
            runs.append([f.name for f in frames])
            uptimes.append(li.board_uptime_s())

        li.subscribe_batches(on_run)
        li.subscribe(lambda f: each.append(f.name))
        board.send(hello(0, 1), heartbeat(1, 1.0), vessel(2))
        wait_until(lambda: len(runs) == 1, "the first read")
        # Heartbeats at 10 s and 11 s, a frame lost (seq 6), then a restart: a HELLO and the
        # new boot's first heartbeat, all in one write.
        board.send(heartbeat(3, 10.0), vessel(4), heartbeat(5, 11.0), vessel(7),
                   hello(0, 2), heartbeat(1, 0.5))
        wait_until(lambda: len(runs) == 3, "the second read, as two runs")
        wait_until(lambda: board.from_host.count("HEARTBEAT") == 3, "the host's heartbeats")
    assert runs == [["HELLO", "HEARTBEAT", "VESSEL"],
                    ["HEARTBEAT", "VESSEL", "HEARTBEAT", "VESSEL"], ["HELLO", "HEARTBEAT"]]
    assert each == [name for run in runs for name in run]  # per frame, the same frames
    # One answer per run with heartbeats: three for the board's four.
    assert board.from_host.count("HEARTBEAT") == 3
    # A run's subscribers see the board's time as known before it: from the first heartbeat
    # (1 s, and at most two heartbeat periods on), not yet from the run's own (10 s, 11 s);
    # after the restart, from the new boot's HELLO, not yet from its heartbeat (0.5 s).
    assert 1.0 <= uptimes[1] <= 3.0 and uptimes[2] < 0.5
    assert li.counters()["rx_lost"] == 1


def test_an_answer_comes_after_the_subscribers_saw_it(boards):
    board = boards()
    with link.Link(board.url) as li:
        seen = []
        li.subscribe_batches(lambda frames: seen.extend(f.name for f in frames))
        got = []  # the answer, and what the subscriber had seen when it came

        def handshake():
            answer = li.hello(timeout=5, retries=0)
            got.append((answer, list(seen)))

        waiter = threading.Thread(target=handshake)
        waiter.start()
        wait_until(lambda: "HELLO" in board.from_host, "the host's HELLO")
        board.send(heartbeat(0, 5.0), hello(1, 3))
        waiter.join()
    answer, seen_then = got[0]
    assert answer["boot_count"] == 3 and seen_then == ["HEARTBEAT", "HELLO"]


def test_links_on_one_reader_go_on_when_one_port_fails(boards):
    reader = Reader()
    try:
        first, second = boards(), boards()
        got = {}
        links = [link.Link(b.url, reader=reader) for b in (first, second)]
        for board, li in zip((first, second), links, strict=True):
            li.subscribe_batches(lambda frames, url=board.url: got.setdefault(url, []).extend(
                f.seq for f in frames))
            board.send(hello(0, 1), vessel(1))
        wait_until(lambda: [len(got.get(b.url, [])) for b in (first, second)] == [2, 2],
                   "frames of both boards")
        first.hang_up()  # the cable of the first board is pulled
        wait_until(lambda: links[0].state == "closed", "the first link closes")
        assert "disconnected" in links[0].closed_reason
        second.send(vessel(2), vessel(3))
        wait_until(lambda: got[second.url] == [0, 1, 2, 3], "the second board goes on")
        links[0].close()
        loop = link.Link("loop://", reader=reader)  # a port without a descriptor is polled
        with pytest.raises(link.LinkError, match="sends back what the host sends"):
            loop.hello(timeout=0.2, retries=0)
        loop.close()
        second.send(vessel(4))
        wait_until(lambda: got[second.url][-1] == 4, "the second board after the others")
        links[1].close()
    finally:
        reader.close()
