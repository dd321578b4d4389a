"""Firmware tests import firmware modules the way a board does: firmware/ and protocol/ are
the top of sys.path (CPython here, MicroPython in test_on_micropython.py). Both runners work
from the repository root, so tests may open "boards/sim/board.json" as a relative path."""

import sys

import pytest

from mpy import FIRMWARE, PROTOCOL, REPO

for directory in (str(PROTOCOL), str(FIRMWARE)):
    if directory not in sys.path:
        sys.path.insert(0, directory)


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch):
    monkeypatch.chdir(REPO)
