"""Plant-model tests import the bench plants the way the unix port does: from firmware/."""

import pathlib
import sys

FIRMWARE_DIR = pathlib.Path(__file__).resolve().parents[2] / "firmware"
if str(FIRMWARE_DIR) not in sys.path:
    sys.path.insert(0, str(FIRMWARE_DIR))
