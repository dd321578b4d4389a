"""`pilotedge bridge` and `pilotedge historian` mistakes: one line, exit status 2, no secret
repeated."""

from pilotedge import cli
from pilotedge.logdb import LogDB


def one_line(err, *words):
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def test_mistakes_are_one_line(capsys, tmp_path):
    log = tmp_path / "line1.sqlite"
    LogDB(log).close()
    access = tmp_path / "access.toml"
    access.write_text('[clients.alice]\n"*" = "admin"\n')
    cases = [
        (("bridge", "--broker", "mqtt://line1:hunter2@broker", "--db", log),
         ("does not go in the URL", "PILOTEDGE_MQTT_PASSWORD")),
        (("bridge", "--broker", "mqtt://127.0.0.1:9", "--db", tmp_path / "none.sqlite"),
         ("no log at", "start the logger")),
        (("bridge", "--broker", "mqtt://127.0.0.1:9", "--db", log, "--access", access),
         ("is no role",)),
        (("bridge", "--broker", "mqtt://127.0.0.1:9", "--db", log, "--node", "line/1"),
         ("cannot be a Sparkplug id",)),
        (("bridge", "--broker", "mqtt://127.0.0.1:9", "--password-file", tmp_path / "none"),
         ("cannot read the password file",)),
        (("historian", "--broker", "mqtt://127.0.0.1:9", "--db", "sqlite:///x"),
         ("expected a postgresql:// URL",)),
        (("historian", "--broker", "mqtt://127.0.0.1:9", "--db", "postgresql://h:hunter2@x/y"),
         ("does not go in the URL",)),
        (("historian", "--broker", "mqtt://127.0.0.1:9", "--db",
          "postgresql://nobody@127.0.0.1:9/pilotedge"),
         ("cannot use postgresql://nobody@127.0.0.1:9/pilotedge as the historian's database",)),
    ]
    for argv, words in cases:
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        assert code == 2, (argv, out, err)
        one_line(err, *words)
        assert "hunter2" not in out + err
