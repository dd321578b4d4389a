"""The thin CLI: help without importing commands, --version, and library errors as one line."""

import ast
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import pilotedge
from pilotedge import cli, errors
from pilotproto import messages as m

PACKAGE = Path(pilotedge.__file__).parent
ERRORS = sorted((c for c in vars(errors).values()
                 if isinstance(c, type) and issubclass(c, errors.PilotedgeError)),
                key=lambda c: c.__name__)
USER_ERRORS = {"PilotedgeError", "UsageError", "EncodeError", "UnitError", "LogError",
               "ScenarioError"}


def run_cli(*argv, broken=(), env=None):
    """`pilotedge argv` in a fresh interpreter whose listed modules fail to import.

    Prints, after the command's own output, which command modules were imported."""
    code = (
        "import sys\n"
        "for name in %r: sys.modules[name] = None  # import raises ImportError\n"
        "from pilotedge import cli\n"
        "try:\n"
        "    status = cli.main(%r)\n"
        "except SystemExit as e:\n"
        "    status = e.code\n"
        "loaded = sorted({t.split(':')[0] for t, _ in cli.COMMANDS.values()\n"
        "                 if sys.modules.get(t.split(':')[0])})\n"
        "print('imported:', loaded)\n"
        "sys.exit(status)\n" % (list(broken), list(argv))
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)


def test_help_lists_every_command_without_importing_any():
    modules = sorted({target.split(":")[0] for target, _help in cli.COMMANDS.values()})
    done = run_cli("--help", broken=modules)
    assert done.returncode == 0, done.stderr
    for name, (_module, help_text) in cli.COMMANDS.items():
        assert "%s  " % name in done.stdout and help_text in done.stdout
    listed = [line.split()[0] for line in done.stdout.split("commands:\n")[1].split("\n\n")[0]
              .splitlines()]
    assert set(listed) >= {"log", "status", "set", "mode", "dose", "ack", "batch", "run",
                           "decode", "bench"}
    assert "bioleaching vessels" in done.stdout  # written for a technician
    assert done.stdout.rstrip().endswith("imported: []")


def test_a_command_imports_only_its_own_module():
    done = run_cli("decode", "--help", broken=["pilotedge.run", "pilotedge.bench_cmd"])
    assert done.returncode == 0, done.stderr
    assert "capture of raw serial bytes" in done.stdout
    assert done.stdout.rstrip().endswith("imported: ['pilotedge.decode']")
    done = run_cli("dose", "--help", broken=["pilotedge.run", "pilotedge.bench",
                                             "pilotedge.log_cmd"])
    assert done.returncode == 0, done.stderr
    assert "the volume with its unit: 5 mL" in done.stdout and "--operator" in done.stdout
    assert done.stdout.rstrip().endswith("imported: ['pilotedge.ops_cmd']")


def test_command_help_shows_the_command_options():
    done = run_cli("run", "--help")
    assert done.returncode == 0, done.stderr
    for option in ("--scenario", "--speed", "--duration", "--db", "--quiet"):
        assert option in done.stdout


def test_version_names_package_and_protocol(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out == "pilotedge %s, protocol %d, schema 0x%08X\n" % (
        pilotedge.__version__, m.VERSION, m.SCHEMA_HASH)


@pytest.mark.parametrize("error", ERRORS, ids=lambda c: c.__name__)
def test_every_library_error_is_one_line_and_an_exit_status(error, monkeypatch, capsys):
    def fail(args):
        raise error("what went wrong\n  and where to look")

    command = types.SimpleNamespace(add_arguments=lambda parser: None, run=fail)
    monkeypatch.setitem(sys.modules, "pilotedge_test_command", command)
    monkeypatch.setitem(cli.COMMANDS, "fail", ("pilotedge_test_command", "always fails"))
    status = cli.main(["fail"])
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "pilotedge fail: what went wrong | and where to look\n"
    if error.__name__ in USER_ERRORS:
        assert status == 2
    elif error is errors.Refused:  # the board's refusal, as a refused command's
        assert status == 1
    else:
        assert status > 2


def test_a_real_missing_interpreter_is_reported_in_one_line(tmp_path):
    env = dict(os.environ, MICROPYTHON=str(tmp_path / "no-micropython"))
    done = run_cli("run", "--duration", "1", env=env)
    assert done.returncode == 4
    assert done.stderr == ("pilotedge run: MICROPYTHON=%s is not a file: point it at a "
                           "micropython executable or unset it\n" % env["MICROPYTHON"])


def test_an_unknown_scenario_is_a_user_error(capsys):
    assert cli.main(["run", "--scenario", "no_such_scenario"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pilotedge run: no scenario file no_such_scenario: ")
    assert "vessel_batch_48h" in err and err.count("\n") == 1


def test_nothing_in_the_library_imports_the_cli():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any(n == "cli" or n.endswith(".cli") for n in names), path
