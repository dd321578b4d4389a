"""Sparkplug payloads and metrics without servers: the encoder against a second reader, the
metric set against the protocol spec, DCMDs into requests, the access file, broker URLs."""

import math

import pytest
import spbwire

from pilotedge import codec, mqtt
from pilotedge import sparkplug as spb
from pilotedge.access import Access
from pilotedge.boardinfo import Unit
from pilotedge.errors import UsageError
from pilotedge.sparkplug import metrics as spm
from pilotproto import schema as s

UNITS = [Unit(0, "v0", "vessel"), Unit(1, "c0", "canister"), Unit(255, "board", "board")]


def test_every_value_type_reads_the_same_with_a_second_implementation():
    sent = [
        spb.Metric("i8", spb.INT8, -5), spb.Metric("i16", spb.INT16, -30000),
        spb.Metric("i32", spb.INT32, -2**31), spb.Metric("i64", spb.INT64, -7),
        spb.Metric("u8", spb.UINT8, 255), spb.Metric("u32", spb.UINT32, 2**32 - 1),
        spb.Metric("u64", spb.UINT64, 2**63 + 1), spb.Metric("d", spb.DOUBLE, 1.712),
        spb.Metric("f", spb.FLOAT, 0.5), spb.Metric("b", spb.BOOLEAN, True),
        spb.Metric("s", spb.STRING, "PH_HIGH"), spb.Metric("null", spb.DOUBLE, None),
        spb.Metric("t", spb.DOUBLE, 35.0, timestamp_ms=1234, historical=True, unit="degC",
                   more={"engLow": 15.0, "engHigh": 80.0, "n": -3}),
    ]
    data = spb.encode(sent, seq=255, timestamp_ms=99)
    ours = spb.decode(data)
    theirs = spbwire.payload(data)
    assert (ours.seq, ours.timestamp_ms) == (theirs["seq"], theirs["timestamp"]) == (255, 99)
    for metric, read, other in zip(sent, ours.metrics, theirs["metrics"], strict=True):
        assert read.value == other["value"] == metric.value, metric
        assert read.datatype == other["datatype"] == metric.datatype
    t = theirs["metrics"][-1]
    assert t["is_historical"] and t["timestamp"] == 1234
    assert {k: v["value"] for k, v in t["properties"].items()} == {
        "engUnit": "degC", "engLow": 15.0, "engHigh": 80.0, "n": -3}
    assert theirs["metrics"][-2]["is_null"] and ours.metrics[-2].value is None


def test_garbage_is_no_payload():
    with pytest.raises(UsageError, match="not a Sparkplug B payload"):
        spb.decode(b"\xff\xff\xff")


def test_topics():
    assert spb.topic("site", "DDATA", "line1", "sim0") == "spBv1.0/site/DDATA/line1/sim0"
    assert spb.parse_topic("spBv1.0/site/NBIRTH/line1") == ("site", "NBIRTH", "line1", None)
    assert spb.parse_topic("pilotedge/cmd/alice/site/line1/sim0") is None
    with pytest.raises(UsageError, match="cannot be a Sparkplug id"):
        spb.check_id("line/1", "edge node")


def test_a_dbirth_has_every_field_of_the_spec_with_its_unit_and_type():
    birth = {m.name: m for m in spm.device_birth(UNITS, {"board_id": "sim"}, {}, {})}
    assert len(birth) == len(spm.device_birth(UNITS, {}, {}, {}))  # names are unique
    for unit, msg in (("v0", "VESSEL"), ("c0", "CANISTER")):
        for name, _code, scale, field_unit, enum, _bits in s.FIELDS[codec.message_id(msg)]:
            if name == "unit":
                continue
            metric = birth["%s/%s" % (unit, name)]
            assert metric.unit == field_unit
            if enum:
                assert metric.datatype == spb.STRING
            elif scale != 1:
                assert metric.datatype == spb.DOUBLE
            else:
                assert metric.datatype in (spb.UINT8, spb.UINT16, spb.UINT32, spb.INT16,
                                           spb.INT32), name
    for p in codec.PARAMS.values():
        unit = {"vessel": "v0", "canister": "c0", "board": "board"}[p[0]]
        metric = birth["%s/%s" % (unit, p[1])]
        assert metric.unit == p[2] and metric.datatype == spb.DOUBLE
        assert math.isclose(metric.more["engHigh"], p[5] * p[3])
    # What a DCMD may write is born too.
    for name in ("v0/ph_mode", "v0/orp_mode", "v0/dose/acid", "v0/dose/base", "v0/ack",
                 "v0/batch", "c0/ack", "board/event/code", "command/result", "log/id"):
        assert name in birth
    assert "c0/dose/acid" not in birth and "c0/batch" not in birth


def test_a_row_survives_the_way_to_the_historian():
    log = {"source": "abc", "table": "vessel", "id": 7, "unit": 0, "boot": 2, "boot_count": 5,
           "board_time": 12.5, "seq": 200}
    values = {"ph": 1.712, "temp": None, "orp": -20, "ph_mode": "AUTO", "alarms": 3}
    sent = spm.row_metrics(log, "vessel", "v0", values, 1000, True)
    got = spm.parse_row(spb.decode(spb.encode(sent)).metrics)
    assert got[0] == log and got[1] == "v0"
    assert {k: v for k, v in got[2].items() if k in values} == values
    assert all(m.historical for m in sent)


def test_a_parameter_row_also_sets_the_parameter():
    log = {"source": "abc", "table": "param_value", "id": 1, "unit": 0, "boot": 1,
           "boot_count": 1, "board_time": 0.0, "seq": 1}
    values = {"name": "temp_sp", "value": 36.0, "index": 1, "count": 11, "result": "OK",
              "value_unit": "degC"}
    sent = {m.name: m for m in spm.row_metrics(log, "param_value", "v0", values, 1, False)}
    assert sent["v0/temp_sp"].value == 36.0 and sent["v0/temp_sp"].unit == "degC"
    assert sent["v0/param_value/result"].value == "OK"


def test_dcmd_metrics_become_requests():
    metrics = [spb.Metric("v0/temp_sp", spb.DOUBLE, 35.5), spb.Metric("v0/ph_mode", spb.STRING,
                                                                      "manual"),
               spb.Metric("v0/dose/acid", spb.DOUBLE, 0.2), spb.Metric("c0/ack", spb.STRING,
                                                                       "PRESSURE_HIGH"),
               spb.Metric("v0/batch", spb.STRING, "Start"),
               spb.Metric("operator", spb.STRING, "carol")]
    assert spm.requests(metrics) == [
        {"op": "set", "unit": "v0", "args": {"param": "temp_sp", "value": "35.5 degC"}},
        {"op": "mode", "unit": "v0", "args": {"loop": "ph", "mode": "manual"}},
        {"op": "dose", "unit": "v0", "args": {"pump": "acid", "volume": "0.2 mL"}},
        {"op": "ack", "unit": "c0", "args": {"alarm": "PRESSURE_HIGH"}},
        {"op": "batch", "unit": "v0", "args": {"action": "start"}}]
    assert spm.operator(metrics) == "carol"
    for bad in (spb.Metric("v0/ph", spb.DOUBLE, 2.0), spb.Metric("v0/temp_sp", spb.STRING,
                                                                  "hot"),
                spb.Metric("v0/dose/water", spb.DOUBLE, 1.0), spb.Metric("v0", spb.DOUBLE, 1)):
        with pytest.raises(UsageError, match="DCMD metric"):
            spm.requests([bad])


def test_roles_per_board_and_command_class(tmp_path):
    path = tmp_path / "access.toml"
    path.write_text('dcmd_client = "scada"\n[clients.alice]\n"*" = "operator"\n'
                    'sim1 = "read-only"\n[clients.eve]\nsim0 = "engineer"\n')
    access = Access.load(path)
    set_sp = {"op": "set", "args": {"param": "temp_sp"}}
    set_limit = {"op": "set", "args": {"param": "temp_high"}}
    dose = {"op": "dose", "args": {}}
    assert access.refusal("alice", "sim0", set_sp) is None
    assert access.refusal("alice", "sim0", dose) is None
    assert "needs engineer" in access.refusal("alice", "sim0", set_limit)
    assert "read-only on board sim1" in access.refusal("alice", "sim1", dose)
    assert access.refusal("eve", "sim0", set_limit) is None
    assert "read-only" in access.refusal("eve", "sim1", dose)
    assert "read-only" in access.refusal("nobody", "sim0", dose)
    assert access.dcmd_client == "scada"
    path.write_text('[clients.alice]\n"*" = "admin"\n')
    with pytest.raises(UsageError, match="is no role"):
        Access.load(path)


def test_broker_urls_and_secrets(tmp_path):
    b = mqtt.broker("mqtts://line1@broker.site", environ={})
    assert (b.host, b.port, b.tls, b.username, b.password) == ("broker.site", 8883, True,
                                                               "line1", None)
    secret = tmp_path / "pass"
    secret.write_text("s3cret\n")
    b = mqtt.broker("mqtt://broker:1884", "line1", password_file=secret, environ={})
    assert (b.port, b.password) == (1884, "s3cret") and "s3cret" not in b.describe()
    b = mqtt.broker("mqtt://line1@broker", environ={mqtt.PASSWORD_ENV: "fromenv"})
    assert b.password == "fromenv"
    with pytest.raises(UsageError, match="does not go in the URL") as exc:
        mqtt.broker("mqtt://line1:s3cret@broker", environ={})
    assert "s3cret" not in str(exc.value)
    for url in ("http://broker", "broker:1883", "mqtt://broker:port"):
        with pytest.raises(UsageError):
            mqtt.broker(url, environ={})
    with pytest.raises(UsageError, match="use mqtts"):
        mqtt.broker("mqtt://broker", ca=str(secret), environ={})
