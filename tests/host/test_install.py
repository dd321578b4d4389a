"""pilotedge as a technician gets it: a wheel built from the repository, installed into a
fresh virtual environment, run from an unrelated folder with no checkout in sight."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pilotedge import historian_db

REPO = Path(__file__).resolve().parents[2]
# Build output and environments of the checkout: not sources, and a stale build/ would end
# up in the wheel.
_NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "build", "run", "__pycache__",
                                      "*.egg-info", ".*_cache", ".hypothesis", "*.mpy")


def _run(cmd, **kwargs):
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, "%s\n%s\n%s" % (cmd, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """bin/ of a fresh venv with the wheel and its dependencies installed."""
    tmp = tmp_path_factory.mktemp("install")
    shutil.copytree(REPO, tmp / "src", ignore=_NOT_SOURCES)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run(pip + ["wheel", "--no-deps", "-q", "-w", tmp / "dist", tmp / "src"], timeout=300)
    (wheel,) = (tmp / "dist").glob("pilotedge-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", tmp / "venv"], timeout=120)
    _run(pip + ["--python", tmp / "venv" / "bin" / "python", "install", "-q", wheel],
         timeout=600)
    return tmp / "venv" / "bin"


def _env():
    """No checkout venv on PATH, no source folders on sys.path, no interpreter override."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MICROPYTHON")}
    env["PATH"] = "/usr/bin:/bin"
    return env


def test_the_installed_package_finds_its_data_and_interpreter(installed, tmp_path):
    out = _run([installed / "python", "-c",
                "from pilotedge import resources as r;"
                "print(r.firmware_dir(), r.pilotproto_dir(), r.scenarios_dir(), r.micropython(),"
                " sep='\\n')"],
               cwd=tmp_path, env=_env(), timeout=60)
    firmware, pilotproto, scenarios, micropython = (Path(line) for line in out.splitlines())
    venv = installed.parent
    assert firmware.is_relative_to(venv) and (firmware / "main.py").is_file()
    assert (pilotproto / "messages.py").is_file()
    assert (scenarios / "vessel_batch_48h.toml").is_file()
    assert micropython == installed / "micropython"


def test_the_installed_historian_has_its_schema_and_sparkplug(installed, tmp_path):
    out = _run([installed / "python", "-c",
                "from pilotedge import historian_db, sparkplug as s;"
                "print(historian_db.SCHEMA_VERSION, len(s.decode(s.encode([])).metrics))"],
               cwd=tmp_path, env=_env(), timeout=60)
    # Every migration of the checkout is in the wheel: the same schema version.
    assert out.split() == [str(historian_db.SCHEMA_VERSION), "0"]


def test_installed_run_logs_into_the_current_folder(installed, tmp_path):
    out = _run([installed / "pilotedge", "run", "--duration", "60", "--quiet"],
               cwd=tmp_path, env=_env(), timeout=120)
    (db,) = (tmp_path / "run").glob("*/pilotedge.sqlite")  # run/<timestamp>/pilotedge.sqlite
    # The log, and a plot and a report beside it.
    assert out.splitlines()[-3:] == [out.splitlines()[-3], "plot: %s" % db.with_name(
        "pilotedge-plot.png"), "report: %s" % db.with_name("pilotedge-report.md")]
    assert out.splitlines()[-3].endswith(" frames to %s" % db)
    with sqlite3.connect(db) as con:
        (vessels,) = con.execute("SELECT COUNT(*) FROM vessel").fetchone()
    assert vessels >= 10  # one a second or faster over 60 simulated seconds
    assert (tmp_path / "run" / "bench" / "vessel_batch_48h" / "sim0" / "board.json").is_file()
    (package,) = installed.parent.glob("lib/*/site-packages/pilotedge")
    assert not [p for p in package.rglob("*") if p.name in ("run", "sim0", "pilotedge.sqlite")]


def test_installed_bench_serves_boards_until_ctrl_c(installed, tmp_path):
    proc = subprocess.Popen([installed / "pilotedge", "bench", "--scenario", "fault_drills",
                             "--speed", "20"], cwd=tmp_path, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stuck = threading.Timer(60, proc.send_signal, [signal.SIGINT])  # unblocks readline
    stuck.start()
    try:
        lines = [proc.stdout.readline(), proc.stdout.readline()]
    finally:
        stuck.cancel()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert lines[0].startswith("scenario fault_drills")
    assert "protocol /dev/pts/" in lines[1]
    assert lines[1].rstrip().endswith(str(tmp_path / "run" / "bench" / "fault_drills" / "sim0"))
