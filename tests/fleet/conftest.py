"""Fixtures of the fleet tests: real mosquitto and PostgreSQL servers on loopback, bench
boards and their loggers."""

import itertools
import sys
from pathlib import Path

import psycopg
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "host"))

import services  # noqa: E402
from fleetkit import ACL, USERS  # noqa: E402

_DATABASES = itertools.count()


@pytest.fixture
def broker(tmp_path):
    """A broker for anonymous clients, persistence on."""
    with services.Mosquitto(tmp_path / "mosquitto") as server:
        yield server


@pytest.fixture
def site_broker(tmp_path):
    """A broker as a site runs one: users with passwords, the ACL of fleetkit, and a TLS
    listener besides the plain one."""
    with services.Mosquitto(tmp_path / "mosquitto", users=USERS, acl=ACL, tls=True) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server():
    with services.Postgres(fsync=False) as server:
        yield server


@pytest.fixture
def pg(postgres_server):
    """The URL of a new, empty database on the session's PostgreSQL server."""
    name = "test%d" % next(_DATABASES)
    base = postgres_server.url.rsplit("/", 1)[0]
    with psycopg.connect(base + "/postgres", autocommit=True) as con:
        con.execute("CREATE DATABASE %s" % name)
    return base + "/" + name
