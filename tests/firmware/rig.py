# Test rig for the firmware runtime on the fake HAL: a board with scripted sensors (register
# level ADS1115 and DS18B20 models driven by plain engineering values), a flash folder, and a
# host that speaks real protocol frames through the fake UART. Runs on CPython and MicroPython.
import math
import struct

from tmpflash import tmpdir

import app
import boardfile
from drivers import ads1115
from hal.fake import FakeHal
from hal.fakebus import FakeOneWire
from pilotproto import framing
from pilotproto import messages as m
from pilotproto import schema as s
from sim.onewire import crc8

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
SIM_BOARD = _HERE + "/../../boards/sim/board.json"
_MUX_CHANNEL = {v: k for k, v in ads1115.MUX.items()}
_PGA_FSR = {v: k for k, v in ads1115.PGA.items()}
NERNST_MV_PER_K = 0.198421
KEEP_FRAMES = 300  # the host keeps the newest frames only


def load_board():
    board = boardfile.load(SIM_BOARD)
    board["hal"] = "fake"
    return board


class Plant:
    # Engineering values the sensors report; edit the attributes between run() calls.
    def __init__(self):
        self.ph = 1.7
        self.temp_c = 35.0
        self.orp_mv = 550.0
        self.p_bar = 10.0
        self.shell_c = 25.0
        self.ambient_c = 22.0
        self.supply_mv = 3300.0
        self.ph_offset_mv = 0.0  # added to the electrode: a big offset breaks plausibility

    def mv(self, addr, channel):
        if addr == 0x48:
            if channel == "0-1":
                slope = NERNST_MV_PER_K * (self.temp_c + 273.15)
                return -slope * (self.ph - 7.0) + self.ph_offset_mv
            if channel == "2-3":
                return self.orp_mv
            return 0.0
        if channel == "0":
            return self.supply_mv * (0.1 + 0.8 * self.p_bar / 40.0)
        if channel == "1":
            return self.supply_mv
        t_c = self.shell_c if channel == "2" else self.ambient_c
        r_ntc = 10000.0 * math.exp(3950.0 * (1 / (t_c + 273.15) - 1 / 298.15))
        return self.supply_mv * r_ntc / (10000.0 + r_ntc)


class AdsModel:
    # Register file of one ADS1115 as FakeI2C sees it (get / item assignment): the config
    # reads back as written (conversion done), the conversion register holds the plant's mV
    # for the multiplexer and range of the last config write.
    def __init__(self, plant, addr):
        self._plant = plant
        self._addr = addr
        self._config = b"\x00\x00"

    def __setitem__(self, reg, data):
        if reg == 1:
            self._config = bytes(data)

    def get(self, reg, default=b""):
        if reg == 1:
            return self._config
        config = struct.unpack(">H", self._config)[0]
        fsr = _PGA_FSR[config >> 9 & 7]
        mv = self._plant.mv(self._addr, _MUX_CHANNEL[config >> 12 & 7])
        code = max(-32768, min(32767, int(round(mv * 32768 / fsr))))
        return struct.pack(">h", code)


class ThermometerBus(FakeOneWire):
    # One DS18B20 at 12 bit: a Read Scratchpad returns the plant's vessel temperature.
    def __init__(self, plant):
        super().__init__()
        self._plant = plant

    def readinto(self, buf):
        if self.written and self.written[-1] == 0xBE:
            raw = int(round(self._plant.temp_c * 16)) & 0xFFFF
            pad = bytearray([raw & 0xFF, raw >> 8, 0x4B, 0x46, 0x7F, 0xFF, 0x10, 0x10, 0])
            pad[8] = crc8(pad[:8])
            for i in range(len(buf)):
                buf[i] = pad[i]
            self.written = bytearray()
        else:
            super().readinto(buf)


class NoLog(list):
    # Stands in for the fake buses' transfer logs, which would grow for as long as a
    # runtime runs (an ADS1115 config write every 25 ms).
    def append(self, item):
        pass


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
        self.hal = FakeHal(self.board)
        self.hal.flash_dir = self.flash
        self.hal.cause = cause
        self.hal.uptime_start_ms = uptime_ms
        i2c = self.hal.i2c("i2c0")
        i2c.writes = NoLog()
        for adc in self.board["adc"].values():
            i2c.mem[adc["addr"]] = AdsModel(self.plant, adc["addr"])
        self.hal._buses[("onewire", "ow0")] = ThermometerBus(self.plant)
        self.host = Host(self.hal)
        self.rt = app.build(self.hal, self.board, fs)
        self.clock = self.hal.clock

    def run_for(self, ms):
        self.rt.run(self.clock.ticks_add(self.clock.ticks_ms(), ms))

    def run_linked(self, ms):
        # Host heartbeats every second for `ms`, the way a logger keeps the link up.
        for _ in range(ms // 1000):
            self.host.heartbeat()
            self.run_for(1000)

    def pin(self, output):
        # Level of a board output's pin now (1 = energised for these active-high outputs).
        return self.hal.pin(self.board["outputs"][output]["pin"]).value()

    def reboot(self, cause=m.RESET_POWER_ON):
        # A new runtime on the same flash (and plant): what survives is what was persisted.
        return Rig(self.flash, board=self.board, cause=cause, plant=self.plant)
