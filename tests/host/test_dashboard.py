"""The dashboard on a bench board, read off the screen: in Textual's test pilot at 80x24 and
120x40, and as a person sees it, `pilotedge run` in a real terminal (tmux) at 80x24; alarms
raised on the plant, acknowledged from the keyboard and audited."""

import asyncio
import html
import re
import shutil
import sqlite3
import subprocess
import time

import pytest
from loggerkit import wait_until

from pilotedge import live, resources
from pilotedge.bench import Bench
from pilotedge.dashboard import Dashboard
from pilotedge.logger import Logger

_TEXT = re.compile(r'<text [^>]*clip-path="url\(#terminal-\d+-line-(\d+)\)">([^<]*)</text>')


def screen(app):
    """The screen's lines as text, from the SVG screenshot Textual makes of it."""
    rows = {}
    for line, text in _TEXT.findall(app.export_screenshot()):
        rows[int(line)] = rows.get(int(line), "") + html.unescape(text).replace("\xa0", " ")
    return [rows.get(i, "").rstrip("\n") for i in range(max(rows) + 1)] if rows else []


async def until_shown(pilot, words, timeout_s=60.0):
    """Wait until the screen shows every one of words; the screen's lines."""
    deadline = time.monotonic() + timeout_s
    while True:
        await pilot.pause(0.3)
        lines = screen(pilot.app)
        text = "\n".join(lines)
        if all(w in text for w in words):
            return lines
        if time.monotonic() > deadline:
            raise AssertionError("not shown: %s\n%s" % (words, text))


def test_dashboard_at_80x24_and_120x40_alarm_raised_and_acknowledged(tmp_path):
    db = tmp_path / "dash.sqlite"
    bench = Bench("vessel_batch_48h", speed=60, workdir=tmp_path / "bench", fresh=True)
    try:
        board = bench.start()[0]
        logger = Logger([str(board.protocol_port)], db, {str(board.protocol_port): board.name},
                        listen=True).start()
        try:
            asyncio.run(_drive(bench, logger, db))
        finally:
            logger.stop()
    finally:
        bench.stop()
    with sqlite3.connect(db) as con:
        audit = con.execute("SELECT operator, origin, board, unit, command, arguments, result "
                            "FROM audit").fetchall()
        acked = con.execute("SELECT acknowledged FROM alarms WHERE code = 'PH_HIGH'")
        assert acked.fetchone()[0] is not None
    assert audit == [("tester", "dashboard", "sim0", "v0", "ack", '{"alarm": "ph_high"}',
                      "done")]


async def _drive(bench, logger, db):
    app = Dashboard(live.LiveState(logger), "log %s" % db, operator="tester")
    async with app.run_test(size=(80, 24)) as pilot:
        lines = await until_shown(pilot, ["v0 vessel  pH ", "c0 canister  P ", "uncalibrated",
                                          "fr/s 0 bad 0 lost hb"])
        assert len(lines) == 24 and all(len(x) <= 80 for x in lines)
        assert lines[0].startswith(" pilotedge log ")
        assert lines[-1].startswith("keys: s set  m mode  a ack")
        assert any(x.startswith("  alarms: none") for x in lines)
        # Budgets come from the board (read when it connected), doses from its counter; the
        # bench's pumps are uncalibrated: 5/6 of the 200 and 1600 mL, as the board enforces.
        await until_shown(pilot, ["  dosed acid ", "/166.7 h ", "/1333.3 d mL"])
        # The operator lowers the high-pH limit below the start-up broth's pH.
        bench.inject(0, "param", unit="v0", name="ph_high", value=2.0)
        lines = await until_shown(pilot, ["PH_HIGH", "NOT ACKED",
                                          "v0 PH_HIGH raised (ALARM)"])
        (alarm,) = [x for x in lines if x.startswith("  alarms: ")
                    and "PH_HIGH" in x]
        assert "pH (limit 2.000 pH) NOT ACKED" in alarm
        await pilot.press("a")
        assert app.query_one("#command").value == "ack v0 ph_high"
        await pilot.press("enter")
        lines = await until_shown(pilot, ["done: PH_HIGH acknowledged on v0 on sim0",
                                          "v0 PH_HIGH acknowledged (INFO)"])
        assert any("PH_HIGH" in x and x.endswith("acked") or "acked;" in x for x in lines)
        assert not any("PH_HIGH" in x and "NOT ACKED" in x for x in lines)
        assert len(lines[0]) == 80 and lines[0].endswith("…")  # the log's long path, cut
        await pilot.resize_terminal(120, 40)
        lines = await until_shown(pilot, ["v0 vessel"])
        assert len(lines) == 40 and 80 < len(lines[0].rstrip()) <= 120
        await pilot.press("q")


def _tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("tmux") is None,
                    reason="tmux is not installed (.ci/run installs it on CI)")
def test_run_in_a_real_terminal_trip_banner_ack_and_ctrl_c(tmp_path):
    """`pilotedge run` in tmux: the screen a person sees at 80x24, a trip banner, an alarm
    acknowledged with two keys, Ctrl-C leaving the log, plot and report. (Larger screens:
    the pilot test above.)"""
    scenario = tmp_path / "drill.toml"
    scenario.write_text((resources.scenarios_dir() / "vessel_batch_48h.toml").read_text() + """
[[events]]
at_s = 60
do = "pump_stuck_on"
target = "v0_heater"

[[events]]
at_s = 300
do = "set"
target = "c0"
values = { shell_c = 70.0 }
""")
    db = tmp_path / "run.sqlite"
    session = "pilotedge-test-%d" % id(tmp_path)
    pilotedge = shutil.which("pilotedge") or str(resources.Path(__file__).parents[2]
                                                 / ".venv" / "bin" / "pilotedge")
    command = ("cd %s && TERM=xterm-256color %s run --scenario %s --speed 60 --fresh --db %s "
               "--workdir %s --operator tester; echo EXIT $?; sleep 600"
               % (tmp_path, pilotedge, scenario, db, tmp_path / "bench"))
    _tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", command)

    def shown(*words, timeout_s=60):
        def check():
            text = _tmux("capture-pane", "-t", session, "-p")
            return text if all(w in text for w in words) else None
        return wait_until(check, "screen shows %s" % (words,), timeout_s)

    try:
        text = shown("v0 vessel  pH ", "c0 canister  P ", "TRIP: sim0 c0 TRIPPED",
                     "TEMP_TRIP latched", "TEMP_HIGH", "NOT ACKED",
                     timeout_s=240)  # the stuck heater takes 80 board minutes to 50 degC
        lines = text.splitlines()
        assert len(lines) == 24 and all(len(x) <= 80 for x in lines)
        assert lines[1].startswith(" TRIP: ")  # the banner right under the title
        _tmux("send-keys", "-t", session, "a")  # the first alarm not acknowledged, offered
        offered = wait_until(lambda: re.search(r"^ ?ack (v0|c0) (\w+) *$", _tmux(
            "capture-pane", "-t", session, "-p"), re.M), "an ack on the command line").groups()
        _tmux("send-keys", "-t", session, "Enter")
        text = shown("done: %s acknowledged on %s on sim0" % (offered[1].upper(), offered[0]))
        _tmux("send-keys", "-t", session, "C-c")
        text = shown("EXIT 0")
        assert "report: %s" % (tmp_path / "run-report.md") in text.replace("\n", "")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert (tmp_path / "run-plot.png").is_file()
    report = (tmp_path / "run-report.md").read_text()
    assert "| TRIP |" in report or "TRIP" in report
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT origin, command, result FROM audit").fetchall() == [
            ("dashboard", "ack", "done")]
