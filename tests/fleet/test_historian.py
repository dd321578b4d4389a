"""The historian on a real mosquitto and a real PostgreSQL: versioned migrations, a message
delivered twice stored once, a persistent session that keeps what was published while the
historian was away, and a database that went away and came back."""

import psycopg
import pytest
from fleetkit import Client, broker_of, historian, needs_servers, wait_until

from pilotedge import historian_db, logdb
from pilotedge import sparkplug as spb
from pilotedge.errors import LogError
from pilotedge.historian_db import HistorianDB
from pilotedge.sparkplug import metrics as spm

pytestmark = needs_servers
TOPIC = "spBv1.0/site/DDATA/line1/sim0"


def row(i, ph=1.7, source="log-a"):
    """A vessel row's DDATA as a bridge publishes it."""
    log = {"source": source, "table": "vessel", "id": i, "unit": 0, "boot": 1, "boot_count": 3,
           "board_time": i * 1.0, "seq": i % 256}
    return spb.encode(spm.row_metrics(log, "vessel", "v0", {"ph": ph, "temp": 35.0,
                                                            "ph_mode": "AUTO"},
                                      1_700_000_000_000 + i * 1000, False), seq=i % 256)


def q(url, sql, *args):
    with psycopg.connect(url) as con:
        cur = con.execute(sql, args)
        return cur.fetchall() if cur.description else None


def test_the_schema_is_migrated_once_and_a_newer_one_is_refused(pg):
    HistorianDB(pg).close()
    HistorianDB(pg).close()
    assert q(pg, "SELECT version, name FROM schema_migrations") == [
        (v, n) for v, n, _p in historian_db.migrations()]
    tables = {r[0] for r in q(pg, "SELECT table_name FROM information_schema.tables WHERE "
                                  "table_schema = 'public'")}
    assert set(logdb.FRAME_TABLES) | {"boards", "boots", "units", "audit", "columns",
                                      "telemetry", "alarms", "param_changes",
                                      "batches"} <= tables
    # The columns table describes every column as the log's does.
    assert ("vessel", "ph", "pH") in q(pg, "SELECT tbl, col, unit FROM columns")
    q(pg, "INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
    with pytest.raises(LogError, match="schema 999"):
        HistorianDB(pg)


def test_a_message_delivered_twice_is_stored_once(pg):
    db = HistorianDB(pg)
    assert db.store([(TOPIC, row(1)), (TOPIC, row(2))]) == 2
    assert db.store([(TOPIC, row(2)), (TOPIC, row(1)), (TOPIC, row(3))]) == 1
    db.close()
    assert q(pg, "SELECT count(*) FROM vessel") == [(3,)]
    assert q(pg, "SELECT board, unit, quantity, value, value_unit FROM telemetry WHERE "
                 "quantity = 'ph' ORDER BY frame LIMIT 1") == [("sim0", "v0", "ph", 1.7, "pH")]


def test_the_broker_keeps_messages_for_the_historian_while_it_is_away(pg, broker):
    sender = Client(broker_of(broker), topics=())
    with historian(broker_of(broker), pg) as h:
        wait_until(h.connected.is_set, "historian connected")
        for i in range(1, 51):
            sender.send(TOPIC, row(i))
        sender.send(TOPIC, row(7))  # again
        wait_until(lambda: q(pg, "SELECT count(*) FROM vessel")[0][0] == 50, "50 rows")
    for i in range(51, 151):  # the historian is stopped; its session is not
        sender.send(TOPIC, row(i))
    broker.restart()  # and the broker restarts meanwhile (persistence on)
    sender.close()
    with historian(broker_of(broker), pg):
        wait_until(lambda: q(pg, "SELECT count(*) FROM vessel")[0][0] == 150, "150 rows")
    assert q(pg, "SELECT min(src_id), max(src_id), count(DISTINCT src_id) FROM vessel") == [
        (1, 150, 150)]


def test_rows_wait_while_the_database_is_down(pg, broker, postgres_server):
    sender = Client(broker_of(broker), topics=())
    with historian(broker_of(broker), pg) as h:
        wait_until(h.connected.is_set, "historian connected")
        sender.send(TOPIC, row(1))
        wait_until(lambda: q(pg, "SELECT count(*) FROM vessel")[0][0] == 1, "the first row")
        postgres_server.pause()
        try:
            for i in range(2, 41):
                sender.send(TOPIC, row(i))
        finally:
            postgres_server.resume()
        wait_until(lambda: q(pg, "SELECT count(*) FROM vessel")[0][0] == 40, "40 rows")
    sender.close()
