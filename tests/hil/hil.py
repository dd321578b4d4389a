"""What the HIL tests share: waiting on the board's frames in the board's own time, and the
wire numbers of its units and sensors from its board file.

Every wait is on frames (the board's heartbeats carry its uptime), so the same test paces
itself on a real board at 1x and on the bench at any speed; the wall-clock limits only end
a hung test, nothing asserts how long anything took.
"""

import json
import queue
import time

from pilotedge import resources
from pilotedge.bench.scenario import BoardNames
from pilotproto import messages as m

WAIT_S = 120.0


class Board:
    """The board under test as its board file describes it: unit numbers, sensors, outputs."""

    def __init__(self, name):
        with open(resources.boards_dir() / name / "board.json") as f:
            self.file = json.load(f)
        self.names = BoardNames(self.file)
        self.units = self.names.unit_numbers

    def part(self, unit, role):
        """The board file's name of a unit's part (its heater output, its temp sensor...)."""
        for kind in ("vessels", "canisters"):
            for spec in self.file["units"].get(kind, ()):
                if spec["name"] == unit:
                    return spec[role]
        raise KeyError(unit)


def next_frame(frames, accept, timeout=WAIT_S):
    """From a Link.listen() queue, the first frame accept(frame) likes."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no matching frame within %.0f s" % timeout
        try:
            frame = frames.get(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        if accept(frame):
            return frame


def drain(frames):
    """The frames a Link.listen() queue holds now."""
    out = []
    while True:
        try:
            out.append(frames.get_nowait())
        except queue.Empty:
            return out


def board_seconds(link, seconds):
    """Wait until the board's own uptime has advanced by `seconds`; its last HEARTBEAT."""
    beats = link.listen("HEARTBEAT")
    first = next_frame(beats, lambda f: True).fields()["uptime"]
    return next_frame(beats, lambda f: f.fields()["uptime"] >= first + seconds).fields()


def telemetry(link, name="VESSEL", accept=lambda f: True):
    """The fields of the next telemetry frame of that message that accept(fields) likes."""
    frames = link.listen(name)
    return next_frame(frames, lambda f: accept(f.fields())).fields()


def ready(link):
    """Wait until the board's vessel sensors are valid and the board hears our heartbeats
    (it needs both before it takes a manual command)."""
    telemetry(link, "VESSEL", lambda f: f["sensor_ok"] & 3 == 3)
    board_seconds(link, 2)


def result(ack):
    return ack.fields()["result"]


def manual_dosing(link, unit):
    """Ready the board for host doses on a vessel: its pH loop in MANUAL. Returns the acid
    the vessel's pump has delivered so far (mL, its telemetry)."""
    ready(link)
    assert result(link.command(unit, "SET_MODE", m.LOOP_PH, m.MODE_MANUAL)) == "DONE"
    return telemetry(link)["acid_total"]


def calibrate_pump(rig, link, unit, output, pump, volume_ul=20000):
    """A pump calibration as a technician does it: a timed run into a measuring cylinder
    (rig capability "cylinder"), then the volume it holds. pump: "ACID" or "BASE". Returns
    (CAL fields, mL in the cylinder)."""
    rig.pump_to_cylinder(output)
    run = link.command(unit, "CAL_START", pump, volume_ul).fields()
    assert run["result"] == "DONE", run
    ml = rig.pump_to_vessel(output)
    assert result(link.command(unit, "CAL_POINT", int(round(ml * 1000)))) == "DONE"
    records = link.listen("CAL")
    assert result(link.command(unit, "CAL_FINISH")) == "DONE"
    return next_frame(records, lambda f: f.fields()["kind"] == pump).fields(), ml


def take_point(rig, link, unit, sensor, standard, ident, temp_c=25.0):
    """A calibration point: the electrode into the standard at temp_c, the point once its
    reading is steady. Returns the steady reading, mV."""
    rig.to_standard(sensor, standard, temp_c)
    ack = link.command(unit, "CAL_POINT", ident, int(temp_c * 100)).fields()
    assert ack["result"] == "DONE", ack
    return ack["value"] / 1000


def calibrate_ph(rig, link, unit, sensor):
    """A two-point pH calibration in the rig's 4.01 and 1.68 buffers (rig capability
    "buffer_station"), as a technician takes it before a batch; returns once the electrode,
    back in the vessel, is judged valid again."""
    assert result(link.command(unit, "CAL_START", m.CAL_KIND_PH)) == "DONE"
    take_point(rig, link, unit, sensor, "4.01", 4010)
    take_point(rig, link, unit, sensor, "1.68", 1680)
    rig.to_vessel(sensor)
    assert result(link.command(unit, "CAL_FINISH")) == "DONE"
    ready(link)
