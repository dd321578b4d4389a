"""Host codec: error kinds (shared with the framing decoder), resync, and encode refusals."""

import binascii
import struct

import crcmod.predefined
import pytest
from cobs import cobs
from hypothesis import given
from hypothesis import strategies as st

from pilotedge import codec
from pilotproto import framing
from pilotproto import messages as m


@given(st.binary(max_size=600))
def test_crcmod_and_binascii_agree(data):
    crc = crcmod.predefined.mkPredefinedCrcFun("crc-32")
    assert codec.crc32(data) == crc(data) == binascii.crc32(data) == framing.crc32(data)


def test_crc_check_value_and_residue():
    assert codec.crc32(b"123456789") == framing.crc32(b"123456789") == 0xCBF43926
    body = b"any body at all"
    assert codec.crc32(body + struct.pack("<I", binascii.crc32(body))) == 0x2144DF1C


GOOD = codec.encode("PARAM_GET", {"unit": 0, "name": "ph_sp", "index": 0}, seq=9)


def wire_of(body):
    """A frame around any body, with a correct CRC: for frames a real encoder refuses."""
    return cobs.encode(body + struct.pack("<I", codec.crc32(body))) + b"\x00"


def header(msg_id, version=m.VERSION):
    return struct.pack(m.HEADER_FMT, version, msg_id, 0, 0)


HELLO_VALUES = [b"rig", 0, 3, 1, m.VERSION, m.SCHEMA_HASH ^ 1, 1, 0, 1, 1, 0]
BAD_FRAMES = {
    "crc": GOOD[:3] + bytes([GOOD[3] ^ 0x10]) + GOOD[4:],
    "cobs": b"\x09ab\x00",  # the code byte promises 8 bytes, 2 follow
    "length": wire_of(header(m.MSG_PARAM_GET) + b"\x01\x02"),  # payload too short
    "unknown_id": wire_of(header(200) + b"\x01"),
    "version": wire_of(header(m.MSG_PARAM_GET, version=m.VERSION + 1) + b"\x00" * 19),
}


def shared_errors(wire):
    decoder = framing.Decoder()
    decoder.feed(wire, len(wire), lambda *a: None)
    return dict(zip(framing.ERROR_NAMES, decoder.errors, strict=True))


@pytest.mark.parametrize("kind", sorted(BAD_FRAMES))
def test_each_error_kind_is_counted_by_both_decoders_and_decoding_resumes(kind):
    wire = BAD_FRAMES[kind] + GOOD
    decoder = codec.StreamDecoder()
    frames = decoder.feed(wire)
    assert [f.name for f in frames] == ["PARAM_GET"]
    expected = dict.fromkeys(codec.ERROR_KINDS, 0) | {kind: 1}
    assert decoder.errors == expected
    assert shared_errors(wire) == {k: v for k, v in expected.items() if k != "schema"}


def test_foreign_schema_hello_is_delivered_and_counted():
    decoder = codec.StreamDecoder()
    (frame,) = decoder.feed(codec.encode_raw(m.MSG_HELLO, HELLO_VALUES, 0))
    assert frame.fields()["schema_hash"] == m.SCHEMA_HASH ^ 1
    assert decoder.errors["schema"] == 1


def test_foreign_header_version_is_remembered():
    decoder = codec.StreamDecoder()
    decoder.feed(BAD_FRAMES["version"])
    assert decoder.foreign_version == m.VERSION + 1


def test_noise_without_delimiters_is_one_length_error_and_costs_no_memory():
    decoder = codec.StreamDecoder()
    for _ in range(100):
        assert decoder.feed(b"\x55" * 1000) == []
    assert len(decoder._tail) <= m.MAX_BODY + 1
    assert [f.seq for f in decoder.feed(b"\x55\x00" + GOOD)] == [9]
    assert decoder.errors["length"] == 1


def test_frame_split_across_feeds_and_truncated_tail():
    decoder = codec.StreamDecoder()
    assert decoder.feed(GOOD[:5]) == []
    assert len(decoder.feed(GOOD[5:] + GOOD[:-1])) == 1
    decoder.flush()
    assert decoder.errors["length"] == 1 and decoder.frames == 1


VESSEL = {
    "unit": 0,
    "ph": 1.7,
    "temp": 35.0,
    "orp": 600,
    "ph_sp": 1.7,
    "temp_sp": 35.0,
    "ph_mode": "OFF",
    "temp_mode": "OFF",
    "outputs": 0,
    "heater": 0,
    "acid_total": 0.0,
    "base_total": 0.0,
    "acid_hour": 0.0,
    "acid_day": 0.0,
    "base_hour": 0.0,
    "base_day": 0.0,
    "acid_res": -0.001,
    "base_res": -0.001,
    "sensor_ok": 7,
    "alarms": 0,
    "cal": 0,
    "fe_ratio": 0.5,
    "batch": 1,
    "batch_acid": 1.5,
    "batch_base": 0.0,
    "batch_heat": 12.25,
}


def test_frame_name_and_engineering_fields():
    wire = codec.encode("VESSEL", dict(VESSEL, ph=-1.25, ph_mode="AUTO"), seq=3, flags=1)
    (frame,) = codec.StreamDecoder().feed(wire)
    assert (frame.name, frame.msg_id, frame.seq, frame.flags) == ("VESSEL", m.MSG_VESSEL, 3, 1)
    assert frame.values[1] == -1250
    assert frame.fields()["ph"] == -1.25 and frame.fields()["ph_mode"] == "AUTO"


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("ph", 40.0, ["VESSEL.ph", "40.0", "-32.768..32.767", "pH"]),
        ("temp", -400.0, ["VESSEL.temp", "-400.0", "-327.68..327.67", "degC"]),
        ("acid_total", -0.001, ["VESSEL.acid_total", "-0.001", "0..4294967.295"]),
        ("heater", 256, ["VESSEL.heater", "256", "0..255"]),
        ("ph_mode", "TURBO", ["VESSEL.ph_mode", "TURBO", "MODE"]),
    ],
)
def test_encode_refuses_out_of_range_naming_field_value_and_range(field, value, words):
    with pytest.raises(codec.EncodeError) as err:
        codec.encode("VESSEL", dict(VESSEL, **{field: value}), seq=0)
    for word in words:
        assert word in str(err.value)


def test_raw_encode_never_wraps():
    values = [0, 1, 2, 3, 65536, 0, 0]  # HEARTBEAT.cycle_max is a uint16
    with pytest.raises(codec.EncodeError, match="65536 outside 0..65535"):
        codec.encode_raw(m.MSG_HEARTBEAT, values, 0)
    with pytest.raises(codec.EncodeError, match="seq 256"):
        codec.encode_raw(m.MSG_HEARTBEAT, [0] * 7, 256)


def test_unknown_message_is_refused_by_name():
    with pytest.raises(codec.EncodeError, match="unknown message 'VESEL'"):
        codec.encode("VESEL", {}, 0)


def test_param_conversion():
    assert codec.param_to_raw("ph_sp", 1.7) == 1700
    assert codec.param_from_raw("p_msl", 28000) == 28.0
    assert codec.param_from_raw("tlm_period", 1000) == 1000
    with pytest.raises(codec.EncodeError, match=r"p_msl = 45.0 bar is out of range \(1..40 bar\)"):
        codec.param_to_raw("p_msl", 45.0)
    with pytest.raises(codec.EncodeError, match="unknown parameter 'ph_setpoint'"):
        codec.param_to_raw("ph_setpoint", 1.0)


def test_command_args_by_member_name_and_refused_outside_the_verb_s_range():
    assert codec.command_args("SET_MODE", "TEMP", "AUTO") == (m.LOOP_TEMP, m.MODE_AUTO)
    assert codec.command_args(m.VERB_DOSE, m.OUT_BASE, 2000000) == (m.OUT_BASE, 2000000)
    assert codec.command_args("ACK_ALARM", "DOSE_LIMIT") == (m.EVENT_DOSE_LIMIT, 0)
    for verb, arg0, arg1, message in (
        ("DOSE", "ACID", 0, r"DOSE volume = 0 uL is out of range \(1..2000000 uL\)"),
        ("DOSE", "HEATER", 1, "DOSE pump: 'HEATER' is not one of ACID, BASE"),
        ("ACK_ALARM", 70000, 0, "ACK_ALARM code: 70000 is not one of"),
        ("ACK_ALARM", 11, 0, "ACK_ALARM code: 11 is not one of"),  # a gap in EVENT
        ("VALVE", 1, 1, "VALVE takes no arg1: it must be 0, got 1"),
        ("SET_OUTPUT", 2, 50.5, "SET_OUTPUT level must be a whole number"),
        ("FLY", 0, 0, "unknown verb 'FLY'"),
    ):
        with pytest.raises(codec.EncodeError, match=message):
            codec.command_args(verb, arg0, arg1)
    assert codec.arg_raw("VALVE", 0, 7) == 7  # names only: the range is the board's check
