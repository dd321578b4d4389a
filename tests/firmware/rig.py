# Test rig for the firmware runtime: the real runtime on the fake HAL's clock, UART and
# watchdog, with the bench's own chip emulations (sim/devices.py, wired from the board file
# by sim/world.py: ADS1115, DS18B20, pins) reading a plant of plain engineering values that
# tests set and that hold still, a flash folder, and a host that speaks real protocol frames
# through the fake UART. Runs on CPython and MicroPython.
import struct

from tmpflash import tmpdir

import app
import boardfile
from hal.clock import FakeClock
from hal.fake import FakeHal
from pilotproto import framing
from pilotproto import messages as m
from pilotproto import schema as s
from sim.standards import reference_mv
from sim.world import World

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
SIM_BOARD = _HERE + "/../../boards/sim/board.json"
KEEP_FRAMES = 300  # the host keeps the newest frames only
# The bench scenario the rig's world is built from: a room held at 22 degC, the unit kinds
# of the spec, electrodes with a little noise and the pressure transducer's (a few ADC codes):
# a reading that never changes is a stuck sensor.
_SCENARIO = {
    "ambient": {"mean_c": 22.0, "swing_k": 0.0},
    "unit_kinds": [[kind, section] for kind, section, _hello in m.UNIT_KINDS],
    "sensors": {"v0_ph": {"noise": 0.1}, "v0_orp": {"noise": 0.1},
                "c0_pressure": {"noise": 0.005}},
}


def load_board():
    board = boardfile.load(SIM_BOARD)
    board["hal"] = "fake"
    return board


class Plant:
    # Engineering values the sensors see, for every unit (the vessel's and the canister's
    # attribute names differ); edit the attributes between run() calls. They hold still:
    # step() does nothing, and what the outputs drive (heater_w, inlet_open, ...) is taken
    # but changes nothing.
    TRACE = ()

    def __init__(self):
        self.ph = 1.7
        self.temp_c = 35.0
        self.orp_mv = 550.0  # against Ag/AgCl in saturated KCl, the bench electrode's
        self.p_bar = 10.0
        self.shell_c = 25.0
        self.ambient_c = 22.0
        self.port_nl_per_min = 0.0

    @property
    def orp_mv_she(self):
        return self.orp_mv + reference_mv("agcl_sat", self.temp_c)

    @property
    def pressure_bar(self):
        return self.p_bar

    @property
    def well_c(self):
        return self.temp_c  # the vessel's thermowell, with no lag here

    def step(self, dt_s):
        pass


def make_world(board, plant):
    # The bench's world for a board file, with `plant` as every unit's plant.
    units = [u["name"] for _kind, section in _SCENARIO["unit_kinds"]
             for u in board["units"].get(section, ())]
    return World(board, _SCENARIO, 1, {name: plant for name in units})


class WorldClock(FakeClock):
    # The fake HAL's manual clock; the world's chips run in the same time.
    def __init__(self, world):
        FakeClock.__init__(self)
        self._world = world

    def advance(self, ms):
        FakeClock.advance(self, ms)
        self._world.advance_to(self._world.now_ms + ms)


class RigHal(FakeHal):
    # The fake HAL with the world's buses and pins. The board's output pins record their
    # `history` of levels; bus pins do not (a chip select toggles on every read: its history
    # grew by 16 KB blocks until a test's heap could not hold it).
    def __init__(self, board, world):
        FakeHal.__init__(self, board)
        self.world = world
        self.clock = WorldClock(world)
        for out in board["outputs"].values():
            pin = world.pin(out["pin"])
            pin.history = [pin.value()]

    def i2c(self, bus):
        return self.world.i2c[bus]

    def onewire(self, bus):
        return self.world.onewire[bus]

    def spi(self, bus):
        return self.world.spi[bus]

    def pin(self, name):
        return self.world.pin(name)


class Host:
    # The host end of the fake UART: real frames in, decoded frames out.
    def __init__(self, hal):
        self.uart = hal.uart
        self.enc = framing.Encoder()
        self.dec = framing.Decoder()
        self.frames = []  # (msg_id, values) received so far, oldest first
        self._on = self._collect

    def send(self, msg_id, values):
        self.uart.feed(bytes(self.enc.encode(msg_id, values)))

    def heartbeat(self):
        self.send(m.MSG_HEARTBEAT, [0] * s.HEARTBEAT_NFIELDS)

    def command(self, cmd_id, unit, verb, arg0=0, arg1=0):
        v = [0] * s.COMMAND_NFIELDS
        v[s.COMMAND_CMD_ID] = cmd_id
        v[s.COMMAND_UNIT] = unit
        v[s.COMMAND_VERB] = verb
        v[s.COMMAND_ARG0] = arg0
        v[s.COMMAND_ARG1] = arg1
        self.send(m.MSG_COMMAND, v)

    def _collect(self, msg_id, seq, flags, body, n):
        fmt = m.MESSAGES[msg_id][1]
        values = list(struct.unpack_from(fmt, body, m.HEADER_SIZE))
        if m.MESSAGES[msg_id][3]:
            size = m.MESSAGES[msg_id][2]
            values.append(bytes(body[m.HEADER_SIZE + size : m.HEADER_SIZE + n]))
        self.frames.append((msg_id, values))

    def receive(self):
        data = bytes(self.uart.tx)
        self.uart.tx = bytearray()
        self.dec.feed(data, len(data), self._on)
        del self.frames[:-KEEP_FRAMES]
        return self.frames

    def take(self, msg_id):
        # Received frames of one kind (values lists), removed from `frames`.
        self.receive()
        got = [v for i, v in self.frames if i == msg_id]
        self.frames = [f for f in self.frames if f[0] != msg_id]
        return got

    def events(self, code=None):
        return [e for e in self.take(m.MSG_EVENT) if code is None or e[2] == code]


class Rig:
    # A runtime on a fake HAL with a plant and a host. flash: reuse a folder (reboot tests).
    def __init__(
        self, flash=None, fs=None, board=None, cause=m.RESET_POWER_ON, plant=None, uptime_ms=0
    ):
        self.board = board or load_board()
        self.plant = plant or Plant()
        self.flash = flash or tmpdir()
        self.world = make_world(self.board, self.plant)
        self.hal = RigHal(self.board, self.world)
        self.hal.flash_dir = self.flash
        self.hal.cause = cause
        self.hal.uptime_start_ms = uptime_ms
        self.host = Host(self.hal)
        self.rt = app.build(self.hal, self.board, fs)
        self.clock = self.hal.clock

    def run_for(self, ms):
        self.rt.run(self.clock.ticks_add(self.clock.ticks_ms(), ms))

    def run_linked(self, ms):
        # Host heartbeats every second for `ms`, the way a logger keeps the link up, and
        # reads what the board sent: a fake UART that only grows needs one contiguous block
        # for all of it, and a board that fails to get one faults (the heap is the test's).
        for _ in range(ms // 1000):
            self.host.heartbeat()
            self.run_for(1000)
            self.host.receive()

    def pin(self, output):
        # Level of a board output's pin now (1 = energised for these active-high outputs).
        return self.hal.pin(self.board["outputs"][output]["pin"]).value()

    def reboot(self, cause=m.RESET_POWER_ON):
        # A new runtime on the same flash (and plant): what survives is what was persisted.
        return Rig(self.flash, board=self.board, cause=cause, plant=self.plant)
