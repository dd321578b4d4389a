"""`pilotedge decode`: JSON lines in engineering units, error counts, clear user errors."""

import io
import json
import sys

from pilotedge import cli, codec

HEARTBEAT = {
    "uptime": 12.5,
    "state": "RUN",
    "faults": 1,
    "overruns": 0,
    "cycle_max": 2.5,
    "heap_free": 4096,
    "rx_errors": 0,
}
LOG = {"level": "WARNING", "text": "pH probe slow"}


def capture():
    """Two good frames, a damaged one between them, and a truncated frame at the end."""
    good = codec.encode("HEARTBEAT", HEARTBEAT, seq=1)
    damaged = bytearray(codec.encode("LOG", LOG, seq=2))
    damaged[7] ^= 0x20  # "pH" -> "ph": the CRC must notice
    return good + bytes(damaged) + codec.encode("LOG", LOG, seq=3) + good[:6]


def decode(capsys, *argv):
    code = cli.main(["decode", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_decode_file(tmp_path, capsys):
    path = tmp_path / "capture.bin"
    path.write_bytes(capture())
    code, lines, err = decode(capsys, str(path))
    assert code == 0 and err == ""
    assert lines[:-1] == [
        {"msg": "HEARTBEAT", "seq": 1, "fields": HEARTBEAT},
        {"msg": "LOG", "seq": 3, "fields": LOG},
    ]
    errors = dict.fromkeys(codec.ERROR_KINDS, 0) | {"crc": 1, "length": 1}
    assert lines[-1] == {"frames": 2, "errors": errors}


def test_decode_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(capture())))
    code, lines, _err = decode(capsys, "-")
    assert code == 0 and lines[-1]["frames"] == 2


def test_missing_file_is_one_line_and_exit_2(tmp_path, capsys):
    code, lines, err = decode(capsys, str(tmp_path / "nope.bin"))
    assert code == 2 and lines == []
    assert err == "pilotedge decode: cannot read %s: No such file or directory\n" % (
        tmp_path / "nope.bin"
    )


def test_a_parameter_value_is_shown_in_its_unit(tmp_path, capsys):
    path = tmp_path / "param.bin"
    path.write_bytes(codec.encode("PARAM_VALUE", {"unit": 0, "name": "temp_sp", "value": 3500,
                                                  "index": 1, "count": 19, "result": "OK"}, 1)
                     + codec.encode("PARAM_SET", {"unit": 1, "name": "p_msl", "value": 25000}, 2))
    code, lines, _err = decode(capsys, str(path))
    assert code == 0
    assert lines[0]["fields"]["value"] == 35.0  # degC, not the wire's 3500
    assert lines[1]["fields"]["value"] == 25.0  # bar
