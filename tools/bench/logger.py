"""Logger ingest rate: captured frames of 16 boards replayed as fast as the logger takes
them, against the same machine's raw executemany of the same rows.

    .venv/bin/python tools/bench/logger.py [--boards 16] [--frames 20000] [--capture-s 600]

Capture: a bench board (vessel_batch_48h) talked to by a host link for --capture-s
simulated seconds, as fast as the bench runs; every frame it sends is kept. Replay: 16
socket:// ports served by another process, each a board that answers the logger's HELLO
with the captured one and then sends --frames frames of the capture back to back (repeated
with its uptimes moved on and its sequence numbers running on, so it reads as one long
boot), reading and dropping what the logger sends it. The logger (pilotedge.logger.Logger,
as `pilotedge log` runs it, without a live view) logs them into a fresh SQLite file; timed is
from its start until every frame is committed (once all are taken, the bench asks for the
commit the logger would make within half a second). Not timed: stopping the logger, whose
closing of a socket:// port waits 0.3 s in pyserial, not the logger's ingest. Raw: the same
rows, read back from that file, inserted with one executemany per table into a fresh log
(same schema, same settings) and committed.
Last line:
    logger: rows_per_s=N raw_rows_per_s=N ratio=N
"""

import argparse
import multiprocessing
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

from pilotedge import codec, logdb
from pilotedge.bench import Bench
from pilotedge.link import Link
from pilotedge.log_cmd import QUICK_GIL_S
from pilotedge.logger import Logger
from pilotproto import messages as m
from pilotproto import schema as s

_UPTIME = {m.MSG_HEARTBEAT: s.HEARTBEAT_UPTIME, m.MSG_EVENT: s.EVENT_UPTIME}


def capture(sim_s, workdir):
    """The frames a bench board sends in sim_s simulated seconds: (HELLO, [Frame])."""
    with Bench("vessel_batch_48h", speed=0, workdir=workdir, fresh=True) as bench:
        board = bench.boards[0]
        with Link(str(board.protocol_port)) as link:
            frames = link.listen(maxsize=10**7)
            hello = link.hello()
            bench.wait_sim(0, sim_s, timeout=600)
        out = []
        while not frames.empty():
            out.append(frames.get())
    hello_frame = next(f for f in out if f.msg_id == m.MSG_HELLO)
    return hello_frame, [f for f in out if f.msg_id != m.MSG_HELLO], hello


def stream(frames, count):
    """count frames of the capture as bytes, repeated with uptimes and seq running on."""
    span_ms = max(f.values[_UPTIME[f.msg_id]] for f in frames if f.msg_id in _UPTIME) + 1000
    out = []
    seq = 0
    for i in range(count):
        f = frames[i % len(frames)]
        values = list(f.values)
        at = _UPTIME.get(f.msg_id)
        if at is not None:
            values[at] += (i // len(frames)) * span_ms
        out.append(codec.encode_raw(f.msg_id, values, seq))
        seq = (seq + 1) & 0xFF
    return b"".join(out)


def _serve_board(server, hello, data, started):
    conn, _ = server.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    decoder = codec.StreamDecoder()
    while not any(f.msg_id == m.MSG_HELLO for f in decoder.feed(conn.recv(4096))):
        pass
    conn.sendall(hello)

    def drain():
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    started.wait()
    conn.sendall(data)
    time.sleep(3600)


def feeder(ports_out, hello, data, boards, go):
    """Serve `boards` ports from this process; put their numbers on ports_out."""
    started = threading.Event()
    servers = [socket.create_server(("127.0.0.1", 0)) for _ in range(boards)]
    for server in servers:
        threading.Thread(target=_serve_board, args=(server, hello, data, started),
                         daemon=True).start()
    ports_out.put([sv.getsockname()[1] for sv in servers])
    go.wait()
    started.set()
    time.sleep(3600)


def replay(hello, data, boards, per_board, folder):
    ctx = multiprocessing.get_context("fork")
    ports, go = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=feeder, args=(ports, hello, data, boards, go), daemon=True)
    proc.start()
    urls = ["socket://127.0.0.1:%d" % p for p in ports.get()]
    db = folder / "logger.sqlite"
    sys.setswitchinterval(QUICK_GIL_S)  # as `pilotedge log` runs
    logger = Logger(urls, db, control=False).start()
    total = boards * per_board
    t0 = time.perf_counter()
    go.set()
    flushed = False
    while logger.db.committed < total:
        if not flushed and logger.db.frames >= total:
            logger.write("flush")  # in order after the last frame
            flushed = True
        time.sleep(0.001 if flushed else 0.005)
        if time.perf_counter() - t0 > 600:
            raise SystemExit("the logger took %d of %d frames in 600 s (%s)"
                             % (logger.db.frames, total, logger.failure or "no failure"))
    elapsed = time.perf_counter() - t0
    logger.stop()
    proc.terminate()
    return db, total / elapsed


def raw(db, folder):
    """Rows per second of executemany of the logged rows into a fresh log."""
    fresh = logdb.LogDB(folder / "raw.sqlite")
    fresh.close()
    src = sqlite3.connect(db)
    tables = {}
    for table in logdb.FRAME_TABLES:
        cols = ["boot", "host_time", "board_time", "seq"] + [
            '"%s"' % c for c, _t in logdb.frame_columns(table)]
        rows = src.execute("SELECT %s FROM %s" % (", ".join(cols), table)).fetchall()
        if rows:
            tables[table] = ("INSERT INTO %s (%s) VALUES (%s)" % (
                table, ", ".join(cols), ", ".join("?" * len(cols))), rows)
    con = sqlite3.connect(folder / "raw.sqlite", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    total = sum(len(rows) for _sql, rows in tables.values())
    t0 = time.perf_counter()
    con.execute("BEGIN")
    for sql, rows in tables.values():
        con.executemany(sql, rows)
    con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    return total, total / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=16)
    parser.add_argument("--frames", type=int, default=20000, help="frames per board")
    parser.add_argument("--capture-s", type=float, default=600.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hello_frame, frames, hello = capture(args.capture_s, folder / "bench")
        print("captured %d frames in %g simulated s of %s" % (len(frames), args.capture_s,
                                                              hello["board_id"]))
        hello_bytes = codec.encode_raw(m.MSG_HELLO, hello_frame.values, 0)
        data = stream(frames, args.frames)
        db, rate = replay(hello_bytes, data, args.boards, args.frames, folder)
        rows, raw_rate = raw(db, folder)
        print("logged %d frames of %d boards; raw insert of the same %d rows"
              % (args.boards * args.frames, args.boards, rows))
    print("logger: rows_per_s=%.0f raw_rows_per_s=%.0f ratio=%.2f"
          % (rate, raw_rate, rate / raw_rate))


if __name__ == "__main__":
    main()
