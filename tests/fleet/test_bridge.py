"""The bridge on a real mosquitto, publishing a real logger's log of a bench board (the
firmware in MicroPython): births and data as a second Sparkplug implementation reads them,
the NDEATH will, rebirth, store and forward across a broker restart, commands from allowed
and refused clients, TLS and passwords."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from fleetkit import (
    USERS,
    Client,
    acked,
    bridge,
    broker_of,
    dcmd,
    log_rows,
    metrics,
    needs_servers,
    wait_until,
)
from loggerkit import SMOKE

from pilotedge import mqtt
from pilotedge import sparkplug as spb
from pilotedge.access import Access
from pilotedge.bench import Bench
from pilotedge.logger import Logger

pytestmark = needs_servers


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    with Bench(SMOKE, speed=5, workdir=tmp_path_factory.mktemp("bench"), fresh=True) as b:
        yield b


@pytest.fixture
def line(bench, tmp_path, monkeypatch):
    """A logger of the bench board (named sim) logging to line1.sqlite: (log, Logger)."""
    monkeypatch.setenv("PILOTEDGE_RUNTIME_DIR", str(tmp_path / "runtime"))
    db = tmp_path / "line1.sqlite"
    with Logger([str(bench.boards[0].protocol_port)], db) as logger:
        yield db, logger


def rows(db, sql, *args):
    with sqlite3.connect(db) as con:
        return con.execute(sql, args).fetchall()


def test_a_sparkplug_client_reads_births_and_data_over_tls(line, site_broker, tmp_path):
    db, _logger = line
    secret = tmp_path / "line1.pass"
    secret.write_text(USERS["line1"] + "\n")
    tls = mqtt.broker(site_broker.tls_url, "line1", password_file=secret, ca=site_broker.ca)
    scada = Client(broker_of(site_broker, "scada"))
    with bridge(db, tls) as b:
        wait_until(lambda: b.connected.is_set(), "the bridge connected over TLS")
        wait_until(lambda: acked(db, "vessel") >= 20, "20 vessel frames acknowledged")
        wait_until(lambda: len(scada.of("DDATA")) >= 40, "DDATA at the client")
    scada.close()
    nbirth, = scada.of("NBIRTH")
    assert nbirth["seq"] == 0
    bd_seq = metrics(nbirth)["bdSeq"]
    death, = scada.of("NDEATH")
    assert metrics(death)["bdSeq"] == bd_seq
    dbirth = scada.of("DBIRTH", "sim")[0]
    born = {m["name"]: m for m in dbirth["metrics"]}
    assert born["v0/ph"]["datatype"] == spb.DOUBLE
    assert born["v0/ph"]["properties"]["engUnit"]["value"] == "pH"
    assert born["c0/pressure"]["properties"]["engUnit"]["value"] == "bar"
    assert born["v0/ph_mode"]["datatype"] == spb.STRING
    assert born["board/board_id"]["value"] == "sim"
    # Every node message after NBIRTH carries the next seq, modulo 256.
    seqs = [p["seq"] for t, _raw, p in scada.messages if t.split("/")[2] != "NDEATH"]
    assert seqs == [i % 256 for i in range(len(seqs))]
    # One DDATA per telemetry frame, with the log's values.
    logged = {r[0]: r[1:] for r in rows(db, "SELECT id, ph, temp, ph_mode FROM vessel")}
    seen = {}
    for p in scada.of("DDATA", "sim"):
        m = metrics(p)
        if m.get("log/table") == "vessel":
            assert m["log/id"] not in seen
            seen[m["log/id"]] = (m["v0/ph"], m["v0/temp"], m["v0/ph_mode"])
    assert len(seen) >= 20
    assert all(logged[i] == v for i, v in seen.items())


def test_the_ndeath_is_the_will_of_a_killed_bridge_and_bdseq_moves_on(line, site_broker):
    db, _logger = line
    scada = Client(broker_of(site_broker, "scada"))
    env = dict(os.environ, PILOTEDGE_MQTT_PASSWORD=USERS["line1"])

    def start():
        return subprocess.Popen(
            [sys.executable, "-m", "pilotedge.cli", "bridge", "--broker",
             "mqtt://line1@127.0.0.1:%d" % site_broker.port, "--db", str(db), "--group",
             "site"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    proc = start()
    wait_until(lambda: scada.of("NBIRTH"), "NBIRTH")
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    death = wait_until(lambda: scada.of("NDEATH"), "the will, published by the broker")[0]
    first = metrics(scada.of("NBIRTH")[0])["bdSeq"]
    assert metrics(death)["bdSeq"] == first
    assert USERS["line1"] not in out + err
    proc = start()
    wait_until(lambda: len(scada.of("NBIRTH")) == 2, "the next NBIRTH")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "spBv1.0/site/line1" in out and USERS["line1"] not in out + err
    assert metrics(scada.of("NBIRTH")[1])["bdSeq"] == (first + 1) % 256
    assert metrics(scada.of("NDEATH")[1])["bdSeq"] == (first + 1) % 256  # said on SIGTERM
    scada.close()


def test_rebirth_on_request(line, site_broker):
    db, _logger = line
    scada = Client(broker_of(site_broker, "scada"))
    with bridge(db, broker_of(site_broker, "line1")):
        wait_until(lambda: scada.of("DBIRTH", "sim"), "DBIRTH")
        scada.send("spBv1.0/site/NCMD/line1",
                   spb.encode([spb.Metric("Node Control/Rebirth", spb.BOOLEAN, True)]))
        wait_until(lambda: len(scada.of("DBIRTH", "sim")) == 2, "a second DBIRTH")
    second = [p for t, _raw, p in scada.messages if "BIRTH" in t][2:]
    assert [p["seq"] for p in second] == [0, 1]
    assert metrics(second[0])["bdSeq"] == metrics(scada.of("NBIRTH")[0])["bdSeq"]
    scada.close()


def test_rows_wait_in_the_log_while_the_broker_is_down_and_follow_as_historical(line, broker):
    db, _logger = line
    watcher = Client(broker_of(broker), client_id="watcher", keep=True)
    with bridge(db, broker_of(broker), keepalive=2) as b:
        wait_until(lambda: acked(db, "vessel") >= 5, "rows acknowledged")
        broker.stop()
        before = acked(db, "vessel")
        time.sleep(3.0)  # the board goes on; its frames wait in the log
        waiting = log_rows(db, "vessel")[-1]
        assert waiting > before + 5
        broker.start()
        wait_until(lambda: acked(db, "vessel") >= waiting + 10, "rows after the outage")
        assert b.connected.is_set()
    seen = {}
    for p in watcher.of("DDATA", "sim"):
        m = metrics(p)
        if m.get("log/table") == "vessel":
            historical = {x["is_historical"] for x in p["metrics"]}
            seen.setdefault(m["log/id"], set()).update(historical)
    watcher.close()
    # Nothing lost: every row the log has up to then reached the client (persistent session).
    assert set(log_rows(db, "vessel")[:waiting]) <= set(seen)
    assert all(seen[i] == {True} for i in range(before + 1, waiting + 1))
    assert {False} in [v for i, v in seen.items() if i > waiting]  # live again


COMMANDS = 'dcmd_client = "scada"\n[clients.scada]\n"*" = "engineer"\n' \
           '[clients.alice]\n"*" = "operator"\n[clients.bob]\n"*" = "read-only"\n'


def test_commands_from_allowed_clients_run_once_and_the_others_are_refused(
        line, site_broker, tmp_path):
    db, logger = line
    path = tmp_path / "access.toml"
    path.write_text(COMMANDS)
    alice = Client(broker_of(site_broker, "alice"), topics=())
    bob = Client(broker_of(site_broker, "bob"), topics=())
    mallory = Client(broker_of(site_broker, "mallory"), topics=())
    scada = Client(broker_of(site_broker, "scada"))
    as_alice = "pilotedge/cmd/alice/site/line1/sim"

    def audit(where="1=1"):
        return rows(db, "SELECT operator, origin, command, arguments, result, reason FROM audit "
                        "WHERE %s ORDER BY id" % where)

    with bridge(db, broker_of(site_broker, "line1"), access=Access.load(path)):
        wait_until(lambda: scada.of("DBIRTH", "sim"), "DBIRTH")
        once = dcmd({"v0/temp_sp": 34.5})
        alice.send(as_alice, once)
        alice.send(as_alice, once)  # a second delivery of the same message
        wait_until(lambda: audit("result = 'done'"), "alice's set point done")
        bob.send("pilotedge/cmd/bob/site/line1/sim", dcmd({"v0/dose/acid": 0.2}))
        alice.send(as_alice, dcmd({"v0/temp_high": 44.0}))
        mallory.send(as_alice, dcmd({"v0/temp_sp": 33.3}))  # the broker's ACL drops it
        scada.send("spBv1.0/site/DCMD/line1/sim", dcmd({"v0/ph_mode": "manual"}, "carol"))
        alice.send(as_alice, dcmd({"v0/temp_sp": 35.0}, timestamp_ms=spb.now_ms() - 600_000))
        wait_until(lambda: len(audit()) == 5, "five audited commands")
        wait_until(lambda: {m.get("command/result") for m in map(metrics, scada.of(
            "DDATA", "sim"))} >= {"done", "refused"}, "command outcomes published")
    for c in (alice, bob, mallory, scada):
        c.close()
    got = audit()
    assert got[0][:3] == ("alice", "mqtt", "set") and got[0][4] == "done"
    assert '"34.5 degC"' in got[0][3]
    refused = [r for r in got if r[4] == "refused"]
    assert {r[0] for r in refused} == {"bob", "alice"}
    assert any("read-only" in r[5] for r in refused if r[0] == "bob")
    assert any("needs engineer" in r[5] for r in refused if r[2] == "set")
    assert any("stale" in r[5] for r in refused if r[2] == "DCMD")
    assert any(r[:3] == ("scada:carol", "mqtt", "mode") and r[4] == "done" for r in got)
    assert not [r for r in got if "33.3" in r[3]]  # mallory's never arrived
    assert len([r for r in got if "34.5" in r[3]]) == 1  # delivered twice, run once
    temp_sp = wait_until(lambda: logger.board("sim").latest[0][1].fields()["temp_sp"] == 34.5,
                         "the board's set point")
    assert temp_sp
