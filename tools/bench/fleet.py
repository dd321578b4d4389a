"""A site on this machine: N bench boards through loggers, their bridges, one mosquitto, one
historian, one PostgreSQL; end-to-end rate into PostgreSQL, latency from board frame to
historian row, rows lost across a broker restart; then the rate one historian sustains.

    .venv/bin/python tools/bench/fleet.py [--boards 16] [--per-logger 8] [--speed 1]
                                          [--duration 60] [--synthetic 20000]

Every part is a real process as on a site: the bench boards (the firmware in MicroPython,
one vessel and one canister each, telemetry at 1 Hz per unit of board time), `pilotedge log`
per line (--per-logger boards each), `pilotedge bridge` per log, mosquitto (persistence on),
`pilotedge historian`, PostgreSQL (fsync on). The bench relay taps what each board sends
(before any logger reads it), so frames are counted as the boards sent them; each is found
in PostgreSQL by its board, table and wire sequence number, in order.

- rows_per_s: rows written into PostgreSQL per second of the run (the site's offered load).
- p50_ms, p99_ms: board frame sent -> its row committed in PostgreSQL, over the frames sent
  before the broker restart (steady state); the restart's worst latency is printed above.
- lost: frames the boards sent (telemetry, events, parameter values) with no row, over the
  whole run. Two thirds into the run the broker is restarted (SIGTERM, 1 s down).
- historian: the bridges are stopped and the historian too; --synthetic rows of a load
  generator (as bridges publish them, for 100 boards per node) are queued at the broker for
  its session; the historian is started and drains them: its rate, and the boards of two
  rows a second (one vessel and one canister at 1 Hz) it would keep up with.

Last line: fleet: boards=N rows_per_s=N p50_ms=N p99_ms=N lost=N
"""

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import psycopg

from pilotedge import codec
from pilotedge import sparkplug as spb
from pilotedge.bench import Bench
from pilotedge.sparkplug import metrics as spm

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fleet"))
import services  # noqa: E402

TABLES = {codec.message_id(t.upper()): t for t in spm.ROW_TABLES}
WAIT_S = 180.0


class TimedTap:
    """A relay tap (relay.tap.extend(data)) that keeps (message id, seq, when sent) of each
    frame a board sends, timed when its last byte left the board."""

    def __init__(self):
        self.frames = []
        self._decoder = codec.StreamDecoder()
        self.on = True

    def extend(self, data):
        if self.on:
            now = time.time()
            self.frames += [(f.msg_id, f.seq, now) for f in self._decoder.feed(data)
                            if f.msg_id in TABLES]


def cli(*args, log=None):
    return subprocess.Popen([sys.executable, "-m", "pilotedge.cli", *map(str, args)],
                            stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)


def wait_for(predicate, what, timeout_s=WAIT_S):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("fleet: %s did not happen within %.0f s" % (what, timeout_s))
        time.sleep(0.2)


def log_count(db):
    with sqlite3.connect(db) as con:
        return sum(con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                   for t in TABLES.values())


def pg_count(url, where="TRUE"):
    try:
        with psycopg.connect(url) as con:
            return sum(con.execute("SELECT count(*) FROM %s WHERE %s" % (t, where)).fetchone()[0]
                       for t in TABLES.values())
    except psycopg.errors.UndefinedTable:  # the historian has not made its tables yet
        return 0


def stored_rows(url, since):
    """{(board, table): [(seq, stored, host_time)]} in the order the logger logged them."""
    out = {}
    with psycopg.connect(url) as con:
        for table in TABLES.values():
            for board, seq, stored, host_time in con.execute(
                    "SELECT bo.name, t.seq, t.stored, t.host_time FROM %s t JOIN boots b ON "
                    "b.id = t.boot "
                    "JOIN boards bo ON bo.id = b.board WHERE t.host_time >= %%s "
                    "ORDER BY bo.name, t.src, t.src_id" % table, (since,)):
                out.setdefault((board, table), []).append((seq, stored, host_time))
    return out


def match(sent, stored):
    """Align the frames a board sent [(seq, sent time)] with the rows stored [(seq, stored
    time, logged time)], both in order: [(sent time, stored row or None)]."""
    out, j = [], 0
    for seq, when in sent:
        while j < len(stored) and stored[j][0] != seq and (seq - stored[j][0]) % 256 < 128:
            j += 1  # a row from before the tap, or one the tap cut in two
        if j < len(stored) and stored[j][0] == seq:
            out.append((when, stored[j]))
            j += 1
        else:
            out.append((when, None))
    return out


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def synthetic(broker_port, rows, nodes=4, boards=100):
    """Publish `rows` vessel rows as bridges would, from `nodes` edge nodes of `boards`
    boards each, at QoS 1; returns the source they carry."""
    source = "synthetic-%d" % os.getpid()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, "pilotedge-bench-load")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", broker_port)
    client.loop_start()
    values = {"ph": 1.7, "temp": 35.0, "orp": 600, "ph_sp": 1.7, "temp_sp": 35.0,
              "ph_mode": "AUTO", "temp_mode": "AUTO", "outputs": 0, "heater": 10,
              "acid_total": 1.0, "base_total": 0.0, "sensor_ok": 7, "alarms": 0}
    now = spb.now_ms()
    last = None
    for i in range(rows):
        node, board = i % nodes, (i // nodes) % boards
        log = {"source": source, "table": "vessel", "id": i + 1, "unit": 0, "boot": board + 1,
               "boot_count": 1, "board_time": i / 1000, "seq": i % 256}
        data = spb.encode(spm.row_metrics(log, "vessel", "v0", values, now + i, False), i % 256)
        last = client.publish(spb.topic("load", "DDATA", "node%d" % node, "b%d" % board),
                              data, qos=1)
    last.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()
    return source


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=16)
    parser.add_argument("--per-logger", type=int, default=8)
    parser.add_argument("--speed", type=float, default=1.0, help="bench speed (1 = real time)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the run")
    parser.add_argument("--synthetic", type=int, default=20000,
                        help="rows of the load generator for the historian's rate")
    args = parser.parse_args()
    missing = services.missing()
    if missing:
        raise SystemExit("fleet: %s" % missing)
    work = Path(tempfile.mkdtemp(prefix="pilotedge-fleet-"))
    out = open(work / "processes.log", "w")  # noqa: SIM115 - closed at exit
    procs = []
    with services.Mosquitto(work / "mosquitto") as broker, services.Postgres() as pg, \
            Bench("vessel_batch_48h", boards=args.boards, speed=args.speed,
                  workdir=work / "bench", fresh=True) as bench:
        url = "mqtt://127.0.0.1:%d" % broker.port
        lines = [bench.boards[i:i + args.per_logger]
                 for i in range(0, args.boards, args.per_logger)]
        dbs = [work / ("line%d.sqlite" % n) for n in range(len(lines))]
        for n, (boards, db) in enumerate(zip(lines, dbs, strict=True)):
            named = ["l%db%d=%s" % (n, i, b.protocol_port) for i, b in enumerate(boards)]
            procs.append(cli("log", *named, "--db", db, "--quiet", log=out))
        wait_for(lambda: all(db.exists() and log_count(db) > 0 for db in dbs), "logging")
        bridges = [cli("bridge", "--broker", url, "--db", db, "--group", "site", "--node",
                       db.stem, log=out) for db in dbs]
        historian = cli("historian", "--broker", url, "--db", pg.url, "--client-id", "bench",
                        log=out)
        procs += bridges + [historian]
        wait_for(lambda: pg_count(pg.url) > 0, "rows in PostgreSQL")
        time.sleep(5.0)  # the bridges publish what was logged before they started
        taps = {}
        for n, boards in enumerate(lines):
            for i, board in enumerate(boards):
                taps["l%db%d" % (n, i)] = board.relay.tap = TimedTap()
        t0 = time.time()
        time.sleep(args.duration * 2 / 3)
        restart = time.time()
        broker.restart(down_s=1.0)
        time.sleep(max(0.0, t0 + args.duration - time.time()))
        for tap in taps.values():
            tap.on = False
        t1 = time.time()
        wait_for(lambda: pg_count(pg.url, "host_time <= %f" % (t1 + 1)) >= sum(
            log_count(db) for db in dbs) - 10 * args.boards, "the backlog drained")
        time.sleep(3.0)  # the last rows of the loggers, after the taps stopped
        rows = stored_rows(pg.url, t0 - 10)
        with psycopg.connect(pg.url) as con:
            in_run = sum(con.execute("SELECT count(*) FROM %s WHERE host_time BETWEEN %%s AND "
                                     "%%s" % t, (t0, t1)).fetchone()[0] for t in TABLES.values())
        steady, disturbed, logged, lost, sent = [], [], [], 0, 0
        for board, tap in taps.items():
            by_table = {}
            for msg_id, seq, when in tap.frames:
                by_table.setdefault(TABLES[msg_id], []).append((seq, when))
            for table, frames in by_table.items():
                for when, row in match(frames, rows.get((board, table), [])):
                    sent += 1
                    if row is None:
                        lost += 1
                    elif when < restart:
                        steady.append(row[1] - when)
                        logged.append(row[1] - row[2])
                    else:
                        disturbed.append(row[1] - when)
        rate = in_run / (t1 - t0)
        print("%d boards at %gx on %d loggers for %.0f s: %d frames sent, %d rows stored in "
              "the run (%.1f rows/s), %d lost" % (args.boards, args.speed, len(lines), t1 - t0,
                                                  sent, in_run, rate, lost))
        print("latency board frame -> PostgreSQL row before the restart: p50 %.0f ms, p99 "
              "%.0f ms, max %.0f ms (%d frames); from the restart on: p99 %.0f ms, max %.0f ms"
              % (percentile(steady, 50) * 1e3, percentile(steady, 99) * 1e3,
                 max(steady) * 1e3, len(steady), percentile(disturbed, 99) * 1e3,
                 max(disturbed) * 1e3))
        print("of which logger row -> PostgreSQL row: p50 %.0f ms, p99 %.0f ms (the logger "
              "commits every 0.5 s)" % (percentile(logged, 50) * 1e3,
                                        percentile(logged, 99) * 1e3))
        for proc in bridges + [historian]:
            stop(proc)
        source = synthetic(broker.port, args.synthetic)
        historian = cli("historian", "--broker", url, "--db", pg.url, "--client-id", "bench",
                        log=out)
        procs.append(historian)
        where = "src = (SELECT id FROM sources WHERE source = '%s')" % source
        wait_for(lambda: pg_count(pg.url, "EXISTS (SELECT 1 FROM sources s WHERE s.id = src "
                                          "AND s.source = '%s')" % source) >= args.synthetic,
                 "the synthetic rows stored")
        with psycopg.connect(pg.url) as con:
            first, last = con.execute("SELECT min(stored), max(stored) FROM vessel WHERE %s"
                                      % where).fetchone()
        sustained = args.synthetic / max(last - first, 1e-6)
        print("historian: %d queued rows stored at %.0f rows/s: %.0f boards of 2 rows/s (one "
              "vessel, one canister at 1 Hz)" % (args.synthetic, sustained, sustained / 2))
        for proc in procs:
            if proc.poll() is None:
                stop(proc)
    out.close()
    print("fleet: boards=%d rows_per_s=%.0f p50_ms=%.0f p99_ms=%.0f lost=%d" % (
        args.boards, rate, percentile(steady, 50) * 1e3, percentile(steady, 99) * 1e3, lost))


if __name__ == "__main__":
    threading.current_thread().name = "fleet"
    main()
