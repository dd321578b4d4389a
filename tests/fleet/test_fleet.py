"""The whole site on real parts: four bench boards (the firmware in MicroPython) on two
loggers, each with its bridge, one mosquitto, one historian, one PostgreSQL. Midway the
broker restarts, the network between one line and the broker is cut, and that line's logger
restarts; at the end every row of both logs is in PostgreSQL exactly once, and the queries
of a board's history and of a batch read the same from PostgreSQL as from the logs."""

import sqlite3
import sys
import time

import psycopg
import pytest
from fleetkit import Proxy, acked, bridge, broker_of, historian, needs_servers, wait_until
from loggerkit import SMOKE

from pilotedge import cli, mqtt, ops
from pilotedge.bench import Bench
from pilotedge.history import open_log
from pilotedge.logger import Logger
from pilotedge.sparkplug import metrics as spm

pytestmark = needs_servers
TABLES = spm.ROW_TABLES + ("audit",)


def lite(db, sql, *args):
    with sqlite3.connect(db) as con:
        return con.execute(sql, args).fetchall()


def pgq(url, sql, *args):
    with psycopg.connect(url) as con:
        return con.execute(sql, args).fetchall()


def all_published(db):
    return all(acked(db, t) == (lite(db, "SELECT coalesce(max(id), 0) FROM %s" % t)[0][0])
               for t in TABLES)


def stored(url, db, table):
    """src_ids of a log's rows in PostgreSQL."""
    source = lite(db, "SELECT source FROM mqtt_nodes")[0][0]
    return [r[0] for r in pgq(url, "SELECT t.src_id FROM %s t JOIN sources s ON s.id = t.src "
                                   "WHERE s.source = %%s ORDER BY t.src_id" % table, source)]


def cmd(logger, op, board, unit, **args):
    outcome = ops.execute(logger, {"op": op, "board": board, "unit": unit, "args": args,
                                   "operator": "tess", "origin": "cli"})
    assert outcome["result"] == "done", outcome


def test_a_site_loses_no_row_through_broker_restart_network_cut_and_logger_restart(
        tmp_path, broker, pg, monkeypatch):
    monkeypatch.setenv("PILOTEDGE_RUNTIME_DIR", str(tmp_path / "runtime"))
    db1, db2 = tmp_path / "line1.sqlite", tmp_path / "line2.sqlite"
    with Bench(SMOKE, boards=4, speed=5, workdir=tmp_path / "bench", fresh=True) as bench:
        ptys = [str(b.protocol_port) for b in bench.boards]
        names1, names2 = {ptys[0]: "a0", ptys[1]: "a1"}, {ptys[2]: "b0", ptys[3]: "b1"}
        proxy = Proxy(broker.port)
        cut_path = mqtt.broker("mqtt://127.0.0.1:%d" % proxy.port)
        line1 = Logger(ptys[:2], db1, names1).start()
        try:
            with Logger(ptys[2:], db2, names2) as line2, \
                    historian(broker_of(broker), pg) as h, \
                    bridge(db1, cut_path, "line1", keepalive=1) as b1, \
                    bridge(db2, broker_of(broker), "line2", keepalive=1):
                wait_until(lambda: h.stored > 40, "rows in PostgreSQL")
                broker.restart(down_s=2.0)
                wait_until(lambda: b1.connected.is_set(), "line1 back after the restart")
                cmd(line2, "batch", "b0", "v0", action="start")
                proxy.cut()  # line1's network: its bridge and the broker time out
                wait_until(lambda: not b1.connected.is_set(), "line1 noticed the cut")
                time.sleep(2.0)
                proxy.mend()
                line1.stop()  # and line1's logger restarts
                line1 = Logger(ptys[:2], db1, names1).start()
                cmd(line2, "set", "b0", "v0", param="temp_sp", value="35.5 degC")
                raise_ph_high(line2, db2)
                cmd(line2, "batch", "b0", "v0", action="stop")
                wait_until(lambda: b1.connected.is_set(), "line1 back after the cut")
                line1.stop()
                line2.stop()
                for db in (db1, db2):
                    wait_until(lambda db=db: all_published(db), "%s all published" % db.name)
                wait_until(lambda: all(stored(pg, db, t) == lite_ids(db, t)
                                       for db in (db1, db2) for t in TABLES),
                           "every row of both logs in PostgreSQL")
        finally:
            line1.stop()
            proxy.close()
    for db in (db1, db2):
        for table in TABLES:
            assert stored(pg, db, table) == lite_ids(db, table), (db.name, table)
    assert len(lite_ids(db1, "vessel")) > 20 and len(lite_ids(db2, "canister")) > 20
    # The same queries read the same from the historian as from a line's log.
    history = ("SELECT board, unit, quantity, host_time, value, value_unit FROM telemetry "
               "WHERE board = 'b0'")
    assert sorted(_reading(r, round) for r in pgq(pg, history)) == sorted(
        _reading(r, int) for r in lite(db2, history))
    batch = ("SELECT u.name, b.operator, b.stopped_by, b.ended IS NOT NULL FROM batches b "
             "JOIN boards bo ON bo.id = b.board JOIN units u ON u.board = b.board AND "
             "u.unit = b.unit WHERE bo.name = 'b0'")
    assert pgq(pg, batch) == lite(db2, batch) == [("v0", "tess", "tess", True)]
    changes = ("SELECT p.unit, p.name, p.old, p.new FROM param_changes p JOIN boots bt ON "
               "bt.id = p.boot JOIN boards bo ON bo.id = bt.board WHERE bo.name = 'b0' "
               "ORDER BY p.host_time")
    assert pgq(pg, changes) == lite(db2, changes)
    alarms = ("SELECT a.unit, a.code, a.severity, a.latched, a.value, a.\"limit\", "
              "a.value_unit, a.raised, a.cleared, a.acknowledged, a.end_reason FROM alarms a "
              "JOIN boards bo ON bo.id = a.board WHERE bo.name = 'b0' ORDER BY a.raised")
    assert [_times(r, round) for r in pgq(pg, alarms)] == [
        _times(r, int) for r in lite(db2, alarms)]
    assert "PH_HIGH" in [r[1] for r in lite(db2, alarms)]
    audit = "SELECT board, operator, command, result FROM audit ORDER BY host_time"
    assert pgq(pg, audit) == lite(db1, audit) + lite(db2, audit)  # line1 has none
    # The technician's data-out commands read the historian as they read a log.
    with open_log(pg) as site, open_log(db2) as line:
        assert [_batch(b) for b in site.batches("b0")] == [_batch(b) for b in line.batches("b0")]
    for command in (["report", pg, "--board", "b0"], ["export", pg, "--board", "b0",
                                                      "--out", str(tmp_path / "csv")]):
        assert cli.main(command) == 0, command
    assert (tmp_path / "csv" / "vessel.csv").read_text().count("\n") > 20


def _batch(row):
    """A batch as both stores give it (each numbers its rows), times in whole seconds."""
    return tuple(round(v) if isinstance(v, float) else v for k, v in row.items() if k != "id")


def raise_ph_high(logger, db):
    """A PH_HIGH alarm on b0: raised (pH limits moved below its pH), acknowledged, cleared."""
    limits = (("ph_low", "0.5 pH", "1.3 pH"), ("ph_sp", "0.8 pH", "1.7 pH"),
              ("ph_high", "1.0 pH", "2.3 pH"))
    for param, low, _normal in limits:
        cmd(logger, "set", "b0", "v0", param=param, value=low)
    wait_until(lambda: lite(db, "SELECT 1 FROM event WHERE code = 'PH_HIGH'"), "PH_HIGH")
    cmd(logger, "ack", "b0", "v0", alarm="ph_high")
    for param, _low, normal in reversed(limits):
        cmd(logger, "set", "b0", "v0", param=param, value=normal)
    wait_until(lambda: lite(db, "SELECT 1 FROM event WHERE code = 'PH_HIGH' AND kind = "
                                "'CLEARED'"), "PH_HIGH cleared")


def _times(row, to_ms):
    """An alarm row with its times in whole ms (see _reading)."""
    return row[:7] + tuple(None if t is None else to_ms(t * 1000) for t in row[7:10]) + row[10:]


def lite_ids(db, table):
    return [r[0] for r in lite(db, "SELECT id FROM %s ORDER BY id" % table)]


def _reading(row, to_ms):
    """A telemetry row with its time in whole ms, as Sparkplug timestamps carry it (the
    bridge truncates; the historian's ms / 1000 rounds back)."""
    board, unit, quantity, host_time, value, value_unit = row
    return board, unit, quantity, to_ms(host_time * 1000), value, value_unit


@pytest.fixture(autouse=True)
def _quick_gil():
    """The loggers answer bench heartbeats within milliseconds, as `pilotedge log` does."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    yield
    sys.setswitchinterval(before)
