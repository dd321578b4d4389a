"""The real servers of the fleet tests and benchmark, on loopback: a mosquitto broker
(Debian's package, persistence on) and a PostgreSQL server (Debian's, in a temporary data
directory). Both are started and stopped here; PostgreSQL refuses to run as root, so as root
(CI) it runs as the `postgres` user through runuser.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

WAIT_S = 30.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, timeout_s=WAIT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("%s did not listen on port %d" % (what, port)) from None
            time.sleep(0.05)


def missing():
    """Why the fleet servers cannot run here (None when they can)."""
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        return "mosquitto is not installed (Debian: apt-get install mosquitto)"
    if postgres_bin() is None:
        return "PostgreSQL is not installed (Debian: apt-get install postgresql)"
    return None


def postgres_bin():
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def make_tls(folder):
    """A CA and a server certificate for 127.0.0.1/localhost signed by it: (ca, cert, key)."""
    folder = Path(folder)
    ca_key, ca, key, csr, cert = (folder / n for n in (
        "ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for cmd in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
         "-days", "2", "-subj", "/CN=pilotedge test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
         "/CN=localhost"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out",
         cert, "-days", "2", "-extfile", ext],
    ):
        subprocess.run(["openssl", *map(str, cmd)], check=True, capture_output=True)
    return str(ca), str(cert), str(key)


class Mosquitto:
    """A mosquitto broker in `folder` on a free loopback port (and a TLS one with tls=True),
    persistence on; users {name: password} and an ACL (mosquitto acl_file text) when given,
    else anonymous clients may do anything."""

    def __init__(self, folder, users=None, acl=None, tls=False):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.ca = None
        self.proc = None
        lines = ["user %s" % _user(), "persistence true",
                 "persistence_location %s/" % self.folder, "autosave_interval 1",
                 "max_queued_messages 0", "max_inflight_messages 1000",
                 "log_dest file %s" % (self.folder / "mosquitto.log"),
                 "log_type error", "log_type warning", "log_type notice",
                 "per_listener_settings false"]
        if users:
            passwd = self.folder / "passwd"
            passwd.write_text("")
            for name, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwd), name, password],
                               check=True, capture_output=True)
            lines += ["allow_anonymous false", "password_file %s" % passwd]
        else:
            lines.append("allow_anonymous true")
        if acl:
            (self.folder / "acl").write_text(acl)
            lines.append("acl_file %s" % (self.folder / "acl"))
        lines.append("listener %d 127.0.0.1" % self.port)
        if tls:
            self.ca, cert, key = make_tls(self.folder)
            lines += ["listener %d 127.0.0.1" % self.tls_port, "cafile %s" % self.ca,
                      "certfile %s" % cert, "keyfile %s" % key]
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    @property
    def url(self):
        return "mqtt://127.0.0.1:%d" % self.port

    @property
    def tls_url(self):
        return "mqtts://127.0.0.1:%d" % self.tls_port

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port, "mosquitto")
        return self

    def stop(self):
        """SIGTERM: mosquitto saves its sessions and queued messages and exits."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(WAIT_S)
            self.proc = None

    def restart(self, down_s=0.0):
        self.stop()
        time.sleep(down_s)
        self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Postgres:
    """A PostgreSQL server on a free loopback port with a database `pilotedge`; url is its
    postgresql:// URL (user postgres, trust authentication: loopback only)."""

    def __init__(self, fsync=True):
        self.bindir = postgres_bin()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="pilotedge-pg-"))
        self.data = self.folder / "data"
        self._fsync = fsync
        self.url = "postgresql://postgres@127.0.0.1:%d/pilotedge" % self.port

    def _run(self, *args):
        cmd = [str(self.bindir / args[0]), *map(str, args[1:])]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.folder)

    def start(self):
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync")
        self.resume()
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as con:
            con.execute("CREATE DATABASE pilotedge")
        return self

    def resume(self):
        options = "-p %d -k %s -c listen_addresses=127.0.0.1" % (self.port, self.folder)
        if not self._fsync:
            options += " -c fsync=off -c synchronous_commit=off"
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", self.folder / "log", "-w",
                  "start")

    def pause(self):
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def stop(self):
        try:
            self.pause()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _user():
    return pwd.getpwuid(os.geteuid()).pw_name
