"""The spec drives every byte: the firmware and the host codec run unchanged on a spec whose
every message has its fields in reverse order, once the generator has rewritten what it owns
(messages.py, schema.py and the generated blocks of the firmware modules and of framing.py). A
position or format written by hand anywhere in the firmware or the codec would misread a field
here.
"""

import copy
import importlib
import json
import shutil
import subprocess
import sys

import pytest

from mpy import FIRMWARE, PROTOCOL, REPO

# Runs in a fresh interpreter with the regenerated copies first on sys.path: the sim board's
# runtime on the fake HAL (tests/firmware/rig.py), the host codec decoding what it sends.
SCRIPT = r"""
import json, sys
sys.path[:0] = [sys.argv[1] + "/protocol", sys.argv[1] + "/firmware", "tests/firmware"]
from rig import Rig
from pilotedge import codec
from pilotproto import messages as m

r = Rig()
seq = [0]

def send(name, fields):
    r.host.uart.feed(codec.encode(name, fields, seq[0]))
    seq[0] += 1

def run_linked(ms):  # (Rig.run_linked reads what the board sends: here the codec does)
    for _ in range(ms // 1000):
        r.host.heartbeat()
        r.run_for(1000)

send("HELLO", {"board_id": "host", "fw_major": 0, "fw_minor": 1, "fw_patch": 0,
               "proto_version": m.VERSION, "schema_hash": m.SCHEMA_HASH, "boot_count": 0,
               "reset_cause": "UNKNOWN", "vessels": 0, "canisters": 0, "uptime": 0.0})
run_linked(3000)
send("COMMAND", {"cmd_id": 0xDEADBEEF, "unit": 0, "verb": "DOSE", "arg0": m.OUT_ACID,
                 "arg1": 1000})
send("COMMAND", {"cmd_id": 2, "unit": 1, "verb": "ACK_ALARM", "arg0": 70000, "arg1": 0})
send("PARAM_SET", {"unit": 0, "name": "temp_sp", "value": 3600})
send("PARAM_GET", {"unit": 255, "name": "", "index": 0})
run_linked(2000)
out = {}
for frame in codec.StreamDecoder().feed(bytes(r.hal.uart.tx)):
    out.setdefault(frame.name, []).append(frame.fields())
print(json.dumps(out, default=lambda b: b.decode()))
"""


@pytest.fixture
def gen(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tools"))
    return importlib.import_module("gen_protocol")


def _reversed_spec(gen):
    spec = copy.deepcopy(gen.load_spec())
    for msg in spec["message"]:
        fixed = [f for f in msg["fields"] if f["type"] != "text"]
        msg["fields"] = fixed[::-1] + [f for f in msg["fields"] if f["type"] == "text"]
    gen.validate(spec)
    return spec


def test_firmware_and_host_run_on_a_spec_with_every_field_order_reversed(gen, tmp_path):
    spec = _reversed_spec(gen)
    shutil.copytree(FIRMWARE, tmp_path / "firmware")
    shutil.copytree(PROTOCOL / "pilotproto", tmp_path / "protocol" / "pilotproto")
    (tmp_path / "protocol" / "pilotproto" / "messages.py").write_text(gen.render_messages(spec))
    (tmp_path / "protocol" / "pilotproto" / "schema.py").write_text(gen.render_schema(spec))
    rewritten = 0
    for path in [*(tmp_path / "firmware").rglob("*.py"), *(tmp_path / "protocol").rglob("*.py")]:
        text = path.read_text()
        if gen.FIELDS_BEGIN in text or gen.VALUES_BEGIN in text:
            path.write_text(gen.render_blocks(spec, text))
            rewritten += 1
    assert rewritten >= 5  # link, events, acks, vessel, canister, framing, ...
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    unsolicited, hello = got["HELLO"]  # at start, and the answer to ours
    assert hello == unsolicited | {"uptime": hello["uptime"]}
    assert hello["board_id"] == "sim" and (hello["vessels"], hello["canisters"]) == (1, 1)
    assert hello["schema_hash"] != gen.schema_hash(gen.load_spec())  # the reversed spec's
    beats = got["HEARTBEAT"]
    assert beats[-1]["state"] == "RUN" and beats[-1]["uptime"] - beats[-2]["uptime"] == 1.0
    vessel = got["VESSEL"][-1]
    assert vessel["unit"] == 0 and abs(vessel["ph"] - 1.7) < 0.05 and vessel["temp_sp"] == 36.0
    assert abs(vessel["temp"] - 35.0) < 0.2 and vessel["ph_mode"] == "OFF"
    canister = got["CANISTER"][-1]
    assert canister["unit"] == 1 and abs(canister["pressure"] - 10.0) < 0.1
    assert abs(canister["shell_temp"] - 25.0) < 0.5 and canister["state"] == "IDLE"
    dose, refused = got["ACK"][0], got["ACK"][1]
    assert dose["cmd_id"] == 0xDEADBEEF and dose["verb"] == "DOSE" and dose["value"] == 1000
    assert dose["result"] == "IN_PROGRESS" and refused["reason"] == "OUT_OF_RANGE"
    temp_sp, tlm = got["PARAM_VALUE"]
    assert temp_sp["name"] == "temp_sp" and temp_sp["value"] == 3600 and temp_sp["result"] == "OK"
    assert tlm["name"] == "tlm_period" and tlm["value"] == 1000 and tlm["count"] == 1
    boot = [e for e in got["EVENT"] if e["code"] == "BOOT"]
    assert boot and boot[0]["unit"] == 255 and boot[0]["value"] == 1.0
