"""export, plot and report on a logged bench run (an hour of the standard batch at 600x, a
batch started, TEMP_HIGH raised and acknowledged), and the query layer under them."""

import csv
import sqlite3
import sys

import numpy as np
import pytest
from benchlog import logged_run

from pilotedge import cli, history, plot, report


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return logged_run(tmp_path_factory.mktemp("dataout"), sim_s=3600.0)


def pilotedge(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def rows_of(db, sql):
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


def test_process_time_is_the_boards_clock(db):
    """At 600x an hour of the batch passes in seconds of wall time; reports and plots measure
    it in the board's own time."""
    with history.open_sqlite(db) as log:
        (s,) = history.series(log, "vessel", ["ph"])
        host_first, host_last = log.span()
    assert 3500 < s.t[-1] - s.t[0] < 3700
    assert host_last - host_first < 600
    # Frames without an uptime get the board time estimated from the heartbeats around them:
    # within a second of their order.
    assert all(b > a - 1.0 for a, b in zip(s.t, s.t[1:], strict=False))


def test_the_queries_speak_postgresql_placeholders():
    assert history.POSTGRESQL.sql("SELECT a FROM t WHERE b = ? AND c = ?") == (
        "SELECT a FROM t WHERE b = %s AND c = %s")
    assert history.SQLITE.sql("WHERE b = ?") == "WHERE b = ?"


def test_export_csv_has_every_row_with_units_in_the_header(db, tmp_path, capsys):
    code, out, err = pilotedge(capsys, "export", db, "--out", tmp_path / "x")
    assert code == 0, err
    (vessels,) = rows_of(db, "SELECT count(*) FROM vessel")[0]
    assert "vessel.csv: %d rows" % vessels in out
    with open(tmp_path / "x" / "vessel.csv") as f:
        table = list(csv.reader(f))
    assert len(table) == vessels + 1
    header = table[0]
    assert header[:4] == ["time", "board", "unit", "boot"]
    assert "ph [pH]" in header and "temp [degC]" in header and "acid_total [mL]" in header
    assert {r[2] for r in table[1:]} == {"v0"}
    with open(tmp_path / "x" / "alarms.csv") as f:
        alarms = list(csv.DictReader(f))
    assert "TEMP_HIGH" in [a["code"] for a in alarms]
    with open(tmp_path / "x" / "audit.csv") as f:
        commands = [(r["command"], r["result"]) for r in csv.DictReader(f)]
    assert commands == [("batch", "done"), ("ack", "done")]


def test_export_bounds_by_board_and_time(db, tmp_path, capsys):
    first, last = rows_of(db, "SELECT min(host_time), max(host_time) FROM vessel")[0]
    middle = (first + last) / 2
    (expected,) = rows_of(db, "SELECT count(*) FROM vessel WHERE host_time >= %r" % middle)[0]
    code, out, err = pilotedge(capsys, "export", db, "--board", "sim0", "--from", middle,
                               "--out", tmp_path / "half")
    assert code == 0, err
    assert "vessel.csv: %d rows" % expected in out
    assert 0 < expected < rows_of(db, "SELECT count(*) FROM vessel")[0][0]


def test_export_parquet_keeps_types_and_units(db, tmp_path, capsys):
    pq = pytest.importorskip("pyarrow.parquet")
    code, _out, err = pilotedge(capsys, "export", db, "--format", "parquet", "--out", tmp_path)
    assert code == 0, err
    table = pq.read_table(tmp_path / "vessel.parquet")
    assert table.num_rows == rows_of(db, "SELECT count(*) FROM vessel")[0][0]
    assert str(table.schema.field("ph").type) == "double"
    assert table.schema.field("ph").metadata == {b"unit": b"pH"}
    assert table.schema.field("ph_mode").type == "string"


def test_parquet_without_pyarrow_says_how_to_get_it(db, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    code, _out, err = pilotedge(capsys, "export", db, "--format", "parquet", "--out", tmp_path)
    assert code == 4
    assert "pip install 'pilotedge[parquet]'" in err and err.count("\n") == 1


def test_plot_has_every_quantity_set_points_and_alarms(db, tmp_path, capsys):
    with history.open_sqlite(db) as log:
        fig = plot.figure(log)
    axes = {ax.get_title(loc="left"): ax for ax in fig.axes}
    assert list(axes) == ["pH", "ORP", "Temperature", "Doses", "Pressure", "State of charge"]
    assert axes["Pressure"].get_ylabel() == "pressure (bar)"
    assert axes["pH"].get_ylabel() == "pH"
    assert "time" in fig.axes[-1].get_xlabel()

    def labels(title):
        return [line.get_label() for line in axes[title].get_lines()]

    assert "sim0 v0" in labels("pH") and "sim0 v0 set point" in labels("pH")
    assert "sim0 v0 set point" in labels("Temperature")
    assert {"sim0 v0 acid", "sim0 v0 base"} <= set(labels("Doses"))
    assert "sim0 c0" in labels("State of charge")
    assert "TEMP_HIGH limit 45 degC" in labels("Temperature")
    assert "acknowledged" in labels("Temperature")
    spans = [p for p in axes["Temperature"].patches if p.get_label() == "alarm: TEMP_HIGH"]
    assert spans  # shaded from raised on
    (line,) = [ln for ln in axes["pH"].get_lines() if ln.get_label() == "sim0 v0"]
    assert len(line.get_xdata()) > 1000 and 1.0 < np.nanmax(line.get_ydata()) < 3.0
    code, out, err = pilotedge(capsys, "plot", db, "--out", tmp_path / "p.png")
    assert code == 0, err
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_sums_up_the_batch(db, capsys):
    code, out, err = pilotedge(capsys, "report", db)
    assert code == 0, err
    assert out.startswith("pilotedge batch report 1\n")
    assert "batch 1 of sim0 v0: started" in out and "by tester" in out
    # An hour of board time, not the seconds of wall time it took at 600x.
    assert "59 min" in out or "1 h 00 min" in out
    assert "Calibrations in force\n---------------------\nnone recorded" in out
    (alarm,) = [line for line in out.splitlines() if "TEMP_HIGH" in line]
    assert "ALARM" in alarm and "limit 45 degC" in alarm and " no " not in alarm
    # What the pump counter added up from the batch's start.
    acid = rows_of(db, "SELECT max(acid_total) - min(acid_total) FROM vessel WHERE host_time "
                       ">= (SELECT started FROM batches)")[0][0]
    assert "acid used      %.3f mL" % acid in out
    assert "heater energy  0." in out and "300 W element" in out
    assert "ack temp_high" in out and "batch start" in out


def test_report_time_in_band_counts_valid_readings_only():
    dts = report.steps([0.0, 1.0, 2.0, 3.0, 4.0, 100.0, 101.0])
    assert dts == [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0]  # the 96 s gap counts for nothing
    inside, valid = report.in_band(dts, [1.7, 1.75, None, 2.0, 1.7, 1.7, 1.7],
                                   [1.7] * 7, 0.1)
    assert (inside, valid) == (3.0, 4.0)  # 2.0 is out of band; None is no reading
    assert report.used([0.0, 1.0, 3.0, 0.5, 2.0]) == 3.0 + 0.5 + 1.5  # a reboot at 0.5


def test_report_markdown_and_html_carry_the_plot(db, tmp_path, capsys):
    code, _out, err = pilotedge(capsys, "report", db, "--out", tmp_path / "r.md")
    assert code == 0, err
    text = (tmp_path / "r.md").read_text()
    assert "![pH, ORP, temperature" in text and "(r.png)" in text
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert "| raised | unit | alarm |" in text
    code, _out, err = pilotedge(capsys, "report", db, "--out", tmp_path / "r.html")
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert '<img alt="plot" src="data:image/png;base64,' in page and "<th>alarm</th>" in page


@pytest.mark.parametrize("argv, words", [
    (("report", "{db}", "--batch", "9"), "has no batch 9 (batches: 1)"),
    (("export", "{db}", "--board", "nope"), "has no board 'nope' (boards: sim0)"),
    (("export", "{db}", "--from", "soon"), "--from 'soon': give a date and time"),
    (("export", "{db}", "--from", "2030-01-02", "--to", "2030-01-01"), "is before --from"),
    (("plot", "{db}", "--out", "/no/such/folder/p.png"), "folder /no/such/folder does not"),
    (("report", "{missing}"), "no log"),
])
def test_data_commands_refuse_in_one_line(db, tmp_path, capsys, argv, words):
    argv = [a.format(db=db, missing=tmp_path / "missing.sqlite") for a in argv]
    code, _out, err = pilotedge(capsys, *argv)
    assert code == 2 and words in err and err.count("\n") == 1


def test_a_file_that_is_no_log_is_refused(tmp_path, capsys):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE x (a)")
    code, _out, err = pilotedge(capsys, "report", other)
    assert code == 2 and "log schema 0" in err
