# pilotedge: composition root: board file + HAL -> a Runtime ready to run (MIT).
#
# The only module that knows every part: it loads the persisted state and config from
# hal.flash_dir, builds drivers (through wiring.py), units, the protocol link and the
# scheduler from the board file, and wires them. Nothing imports app except main.py, the
# bench and the tests.

import sys

from compat import const
from pilotproto import messages as m
from runtime import store
from runtime.events import EventQueue
from runtime.link import Link
from runtime.params import BOARD, Params
from runtime.safety import FAULT_CONFIG, FAULT_LINK, Safety
from runtime.scheduler import Scheduler, Uptime

_IO_PERIOD_MS = const(50)  # output timing: dose pulses, heater window, deadman timers
_LINK_PERIOD_MS = const(50)  # command latency


def unit_specs(board):
    # [(board-file entry, unit class)] in wire unit order: the spec's unit kinds in their
    # order (UNIT_KINDS), the units of a kind in board-file order. A kind's class is
    # UNIT_CLASS of its module units/<kind>.py, imported only when the board has such units.
    specs = []
    for kind, section, _hello in m.UNIT_KINDS:
        entries = board["units"].get(section)
        if entries:
            cls = __import__("units." + kind, None, None, ("UNIT_CLASS",)).UNIT_CLASS
            specs += [(entry, cls) for entry in entries]
    return specs


class Runtime:
    def __init__(self, hal, board, fs):
        # The board dict is read here only: nothing keeps it, so once the caller lets go of
        # it the heap it takes (about 8 KB on the 64-bit Unix port) is free again. Neither
        # is wiring.py kept, which makes the outputs and inputs and reports the boot: it runs
        # once per boot, so it is dropped again before the units and the link are built
        # (unless someone had imported it before), and the two never take heap together.
        keep = "wiring" in sys.modules
        import wiring

        clock = hal.clock
        self.hal = hal
        self._watchdog_ms = board["watchdog_ms"]
        self.uptime = Uptime(clock, hal.uptime_start_ms)
        self.events = events = EventQueue(self.uptime)
        self.state = store.State(fs, hal.flash_dir)
        self.state.boot(hal.reset_cause())
        specs = unit_specs(board)
        self.params = Params(
            fs, hal.flash_dir, [(s["name"], c.KIND) for s, c in specs], board["hw_limits"]
        )
        self.params.load()
        self.params.on_set = self._on_param
        self.outputs = wiring.outputs(hal, board)
        self.safety = Safety(list(self.outputs.values()), events)
        inputs, scans = wiring.inputs(hal, board)
        wiring.boot_events(self)
        if not keep:
            sys.modules.pop("wiring", None)
        del wiring
        self.sched = Scheduler(clock, self._on_error, self._on_overrun)
        self.units = []
        self.link = Link(
            hal,
            board,
            self.units,
            self.params,
            self.safety,
            events,
            self.sched,
            self.uptime,
            self.state,
        )
        self.link.on_fault = self._on_command_error
        for i, (spec, cls) in enumerate(specs):
            u = cls(
                i,
                spec,
                self.params.values[spec["name"]],
                events,
                self.link,
                clock,
                inputs,
                self.outputs,
                self.state,
            )
            u.config_ok = self.params.ok
            self.units.append(u)
        # Every task starts at phase 0, so they share the passes of the ADC scan's 25 ms grid
        # (fewer wake-ups), and the order of adding is the data flow within a pass: sample,
        # units, outputs, link, telemetry.
        for name, scan in scans.items():
            self.sched.add("adc " + name, scan.run, scan.period_ms())
        for u in self.units:
            self.sched.add(u.name, u.run, u.PERIOD_MS)
        self.sched.add("io", self._io, _IO_PERIOD_MS)
        self.sched.add("link", self.link.poll, _LINK_PERIOD_MS)
        self.sched.add("tlm", self.link.send_telemetry, self.params.values[BOARD]["tlm_period"])
        self._io_ms = None
        self._started = False
        self.stopped = False  # TO_REPL or a reset that returned: run() no longer runs

    # -- tasks and hooks --------------------------------------------------------------------

    def _io(self, now_ms):
        dt_ms = 0 if self._io_ms is None else self.hal.clock.ticks_diff(now_ms, self._io_ms)
        self._io_ms = now_ms
        for u in self.units:
            u.service_io(now_ms, dt_ms)
        self.safety.service(now_ms)

    def _on_param(self, unit, name, value):
        # A param that is not read where it is used: the telemetry task's period.
        if unit == BOARD and name == "tlm_period":
            self.sched.set_period("tlm", value)

    def _on_error(self, task, exc):
        self._fault(self.sched.tasks.index(task), task.name, exc)

    def _on_command_error(self, exc):
        self._fault(self.sched.tasks.index(self.sched.find("link")), "command", exc)

    def _fault(self, index, name, exc):
        # Outputs first: nothing after this line may stand between a fault and safe outputs.
        self.safety.fault()
        self.events.fault(m.UNIT_BOARD, m.EVENT_TASK_ERROR, index * 1000)
        try:
            self.link.log(m.SEVERITY_CRITICAL, "%s: %r" % (name, exc))
        except Exception:  # the link itself may be what failed
            pass

    def _on_overrun(self, task, dur_ms):
        self.events.push(
            m.UNIT_BOARD,
            m.EVENT_KIND_INFO,
            m.EVENT_OVERRUN,
            m.SEVERITY_WARNING,
            dur_ms * 1000,
            task.period_ms * 1000,
        )

    # -- running ----------------------------------------------------------------------------

    def force_safe(self):
        self.safety.force_safe()

    def _self_check(self, now_ms):
        # Watchdog feed condition, besides all tasks having run: no fault, outputs serviced.
        if self.safety.state == m.STATE_FAULT:
            return False
        last = self.safety.serviced_ms
        return last is not None and self.hal.clock.ticks_diff(now_ms, last) <= 2 * _IO_PERIOD_MS

    def step(self):
        # One scheduler pass at the current clock: due tasks, state, service, watchdog.
        now = self.uptime.update()
        ok = self.sched.run_pass(now)
        bits = 0 if self.link.up else FAULT_LINK
        if not self.params.ok or self.params.source >= store.BACKUP:
            bits |= FAULT_CONFIG
        for u in self.units:
            bits |= u.fault_bits()
        self.safety.update(self.units, bits)
        self.hal.service()
        if ok and self._self_check(now) and self.hal.wdt is not None:
            self.hal.wdt.feed()
        if self.link.pending is not None:
            self._leave(self.link.pending)

    def _leave(self, verb):
        # REBOOT / TO_REPL, after the ACK went out: outputs safe first.
        self.link.pending = None
        self.force_safe()
        self.stopped = True
        if verb == m.VERB_REBOOT:
            self.hal.reset()
        else:
            self.hal.to_repl()

    def run(self, until_ms=None):
        # Run passes until the clock reaches until_ms (None: forever). Resumable: the next
        # call continues the same schedule.
        clock = self.hal.clock
        if not self._started:
            self._started = True
            self.hal.start_watchdog(self._watchdog_ms)
            self.sched.start(clock.ticks_ms())
            self.link.send_hello()
        while not self.stopped:
            if until_ms is not None and clock.ticks_diff(clock.ticks_ms(), until_ms) >= 0:
                return
            self.step()
            nxt = self.sched.next_due()
            if until_ms is not None and (nxt is None or clock.ticks_diff(nxt, until_ms) > 0):
                nxt = until_ms
            if nxt is not None:
                clock.sleep_until(nxt)


def build(hal, board, fs=None):
    # fs: the flash filesystem (tests pass a wrapper that cuts power); default the HAL's, or
    # the port's own when the HAL has none of its own (hal.fs None).
    return Runtime(hal, board, fs or hal.fs or store.OsFs())
