"""Shared by every suite: puts tests/ on sys.path so `from mpy import run_micropython` works
whatever pytest's import mode (see tests/mpy.py)."""

import sys
from pathlib import Path

TESTS_DIR = str(Path(__file__).resolve().parent)
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)
