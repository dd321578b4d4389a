"""The technician's dashboard: a full-screen live view of a running logger's boards, and the
common commands (set point, mode, acknowledge) from the keyboard.

Built on Textual: it owns the screen and the keyboard at once (a typed command line beside
a view that redraws), resizes to any terminal (80x24 and up), and its test pilot drives it
headless in the tests. Commands go through pilotedge.ops.execute, the same checks, audit
trail and words as `pilotedge set|mode|ack`, with origin "dashboard".

Keys: s set a parameter, m a loop's mode, a acknowledge an alarm, : any command
(set, mode, ack, dose, batch, as typed after `pilotedge`), Escape cancels, q or Ctrl-C quits.
"""

import getpass
import os
import queue
import shlex
import threading
import time

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from . import live, ops
from .errors import LogError, PilotedgeError, UsageError

POLL_S = 0.1  # how often the logger's events are taken in
REDRAW_S = 0.25  # how often the screen is redrawn when something changed
MAX_EVENTS_PER_POLL = 20000  # a fast bench must not starve the keyboard
_GRAMMAR = {  # op -> the arguments after BOARD UNIT, as ops wants them
    "set": ("param", "value"),
    "mode": ("loop", "mode"),
    "ack": ("alarm",),
    "dose": ("pump", "volume"),
    "batch": (),
}


def login():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def parse_command(text, boards, operator):
    """A request for ops.execute from a typed line: `set [BOARD] UNIT PARAM VALUE`,
    `mode [BOARD] UNIT LOOP MODE`, `ack [BOARD] UNIT ALARM`, `dose [BOARD] UNIT PUMP VOLUME`,
    `batch start|stop [BOARD] UNIT`. BOARD may be left out when there is one board.
    UsageError (one line) for anything else."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError("cannot read %r: %s" % (text, exc)) from None
    if not words or words[0] not in _GRAMMAR:
        raise UsageError("commands: %s" % "; ".join([
            "set [BOARD] UNIT PARAM VALUE", "mode [BOARD] UNIT LOOP MODE",
            "ack [BOARD] UNIT ALARM", "dose [BOARD] UNIT PUMP VOLUME",
            "batch start|stop [BOARD] UNIT"]))
    op, rest = words[0], words[1:]
    args = {}
    if op == "batch":
        if not rest:
            raise UsageError("batch start|stop [BOARD] UNIT")
        args["action"], rest = rest[0], rest[1:]
    names = _GRAMMAR[op]
    if rest and rest[0] in boards:
        board, rest = rest[0], rest[1:]
    elif len(boards) == 1:
        board = boards[0]
    else:
        raise UsageError("name the board: %s BOARD ... (boards: %s)" % (op, ", ".join(boards)))
    if op in ("set", "dose") and len(rest) > len(names) + 1:  # a value and its unit: 35 degC
        rest = rest[:len(names)] + [" ".join(rest[len(names):])]
    if len(rest) != len(names) + 1:
        raise UsageError("%s takes %s" % (op, " ".join(["[BOARD]", "UNIT"] + [
            n.upper() for n in names])))
    unit, values = rest[0], rest[1:]
    args.update(zip(names, values, strict=True))
    return {"op": op, "board": board, "unit": unit, "args": args, "operator": operator,
            "origin": "dashboard"}


class Dashboard(App):
    """The live view of `state` (a pilotedge.live.LiveState of a started logger).

    until(event) -> True ends the view (pilotedge run --duration); stop (a threading.Event)
    ends it from outside (SIGTERM). operator: who commands are audited as.
    """

    CSS = """
    Screen { layout: vertical; }
    #title { height: 1; background: $primary; color: $text; }
    #banner { height: auto; background: red; color: white; text-style: bold; display: none; }
    #body { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    #events { height: 1fr; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    #title, #status { text-wrap: nowrap; text-overflow: ellipsis; }
    #command { height: 1; border: none; padding: 0 1; display: none; }
    #status { dock: bottom; height: 1; background: $panel; }
    """
    AUTO_FOCUS = None  # keys are commands until one opens the command line
    BINDINGS = [
        Binding("ctrl+c", "quit", "quit", priority=True),
        Binding("q", "quit", "quit"),
        Binding("s", "prompt('set')", "set"),
        Binding("m", "prompt('mode')", "mode"),
        Binding("a", "prompt('ack')", "ack"),
        Binding("colon", "prompt('')", "command"),
        Binding("escape", "cancel", "cancel", show=False),
    ]

    def __init__(self, state, title="", until=None, stop=None, operator=None):
        super().__init__()
        self.state = state
        self.logger = state.logger
        self.heading = title
        self.until = until
        self.stop = stop or threading.Event()
        self.operator = operator or login()
        self.outcome = "keys: s set  m mode  a ack  : command  q quit"
        self._last_draw = 0.0
        self._busy = False

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="banner")
        yield Static(id="body")
        yield Static(id="events")
        yield Input(id="command", placeholder="set v0 temp_sp 35 degC", select_on_focus=False)
        yield Static(id="status")

    def on_mount(self):
        self.set_interval(POLL_S, self.poll)
        self.read_params()
        self.draw()

    # -- the logger's events -----------------------------------------------------------------

    def poll(self):
        events = self.logger.events
        for _ in range(MAX_EVENTS_PER_POLL):
            try:
                item = events.get_nowait()
            except queue.Empty:
                break
            self.state.feed(item)
            if self.until is not None and self.until(item):
                self.stop.set()
                break
        if self.stop.is_set() or self.logger.failure is not None:
            self.exit()
            return
        if self.state.new_boots:
            self.read_params()
        now = time.monotonic()
        if now - self._last_draw >= REDRAW_S:
            self.draw()

    def read_params(self):
        """Read the budgets and alarm limits of boards that (re)started, off the UI thread:
        the answers come back as PARAM_VALUE frames (and go into the log)."""
        boards, self.state.new_boots = self.state.new_boots, []
        if boards:
            threading.Thread(target=_read_params, args=(boards,), daemon=True).start()

    # -- drawing -------------------------------------------------------------------------------

    def draw(self):
        self._last_draw = time.monotonic()
        width = self.size.width or 80
        now = time.time()
        self.query_one("#title", Static).update(Text(
            " pilotedge %s  %s" % (self.heading, time.strftime("%H:%M:%S")), no_wrap=True,
            overflow="ellipsis"))
        trips = self.state.trips()
        banner = self.query_one("#banner", Static)
        banner.display = bool(trips)
        banner.update(Text("\n".join(" TRIP: " + t for t in trips)))
        body = Text(no_wrap=True, overflow="ellipsis")
        for b in self.state.boards:
            body.append(live.board_line(b, now) + "\n", style="bold")
            for u in b.units.values():
                for line in live.unit_lines(u, self.state.display, now, width):
                    style = ""
                    if line.startswith("  alarms: ") and u.alarms:
                        style = "bold red" if u.unacknowledged() else "yellow"
                    body.append(line + "\n", style=style)
        body.rstrip()
        self.query_one("#body", Static).update(body)
        events = self.query_one("#events", Static)
        height = max(1, events.size.height or 1)
        lines = list(self.state.events)[-height:]
        events.update(Text("\n".join(lines), no_wrap=True, overflow="ellipsis"))
        self.query_one("#status", Static).update(Text(self.outcome, no_wrap=True,
                                                      overflow="ellipsis"))

    # -- commands -------------------------------------------------------------------------------

    def action_prompt(self, op):
        if self._busy:
            return
        box = self.query_one("#command", Input)
        box.value = self._suggest(op)
        box.display = True
        box.focus()
        box.cursor_position = len(box.value)

    def _suggest(self, op):
        """What a key prefills: the first vessel's set point, mode, or the first alarm not
        acknowledged."""
        units = self.state.units()
        vessel = next((u for u in units if u.kind == "vessel"), units[0] if units else None)
        if not op or vessel is None:
            return op + " " if op else ""
        prefix = "" if len(self.state.boards) == 1 else vessel.board.name + " "
        if op == "ack":
            for u in units:
                for a in u.unacknowledged():
                    prefix = "" if len(self.state.boards) == 1 else u.board.name + " "
                    return "ack %s%s %s" % (prefix, u.name, a.code.lower())
            return "ack %s%s " % (prefix, vessel.name)
        if op == "mode":
            return "mode %s%s ph " % (prefix, vessel.name)
        return "set %s%s ph_sp " % (prefix, vessel.name)

    def action_cancel(self):
        box = self.query_one("#command", Input)
        box.display = False
        box.value = ""
        self.set_focus(None)

    def on_input_submitted(self, message):
        text = message.value.strip()
        self.action_cancel()
        if not text:
            return
        try:
            req = parse_command(text, [b.name for b in self.state.boards], self.operator)
        except UsageError as exc:
            self.tell(str(exc), error=True)
            return
        self._busy = True
        self.tell("sending: %s" % text)
        threading.Thread(target=self._execute, args=(req,), daemon=True).start()

    def _execute(self, req):
        """On a thread of its own: a command can wait seconds for a dose."""
        try:
            outcome = ops.execute(self.logger, req, progress=lambda text: self.call_from_thread(
                self.tell, text), os_user=login())
            words, error = outcome["text"], outcome["result"] != "done"
        except PilotedgeError as exc:
            words, error = str(exc), True
        try:
            self.call_from_thread(self._done, words, error)
        except RuntimeError:
            pass  # the view closed meanwhile; the audit trail has the outcome

    def _done(self, words, error):
        self._busy = False
        self.tell(words, error)
        self.state.note(words)

    def tell(self, text, error=False):
        self.outcome = ("! " if error else "") + text
        self.query_one("#status", Static).update(Text(
            self.outcome, style="bold red" if error else "", no_wrap=True, overflow="ellipsis"))


def _read_params(boards):
    for b in boards:
        link = b.port.link
        if link is None:
            continue
        for u in list(b.units.values()):
            for name in live.WATCHED_PARAMS.get(u.kind, ()):
                try:
                    link.param_get(u.number, name)
                except PilotedgeError:
                    break  # the board is gone or does not have it: its frames say which


def seed(state, db_path):
    """Alarms and calibrations the log knows from before the view started."""
    from . import history

    try:
        with history.open_sqlite(db_path) as log:
            state.seed(log)
    except LogError:
        pass  # a log this view cannot read yet: the boards' own frames fill the view in
