"""What `pilotedge deploy` asks the firmware itself, run under MicroPython, never imported.

    cd <firmware folder> && MICROPYPATH=.frozen:<folder with pilotproto> \
        micropython -c "$(cat deploy_facts.py)" <board.json>

Prints one JSON line: {"error": "<key path>: <problem>"} when the board file fails the
firmware's own check (boardfile.load), else {"version": runtime.VERSION, "schema": the
SCHEMA_HASH the firmware speaks, "config": [path, record]}: the default config exactly as the
firmware stores it (runtime.params defaults through runtime.store), so the host never keeps
a second copy of either format.
"""

import json
import sys

import boardfile

try:
    board = boardfile.load(sys.argv[1])
except ValueError as e:
    print(json.dumps({"error": str(e)}))
    sys.exit(0)

import app  # noqa: E402
from pilotproto import messages as m  # noqa: E402
from runtime import VERSION  # noqa: E402
from runtime.params import Params  # noqa: E402


class Flash:
    """A flash that keeps what the firmware writes to it."""

    def __init__(self):
        self.files = {}

    def write(self, path, data):
        self.files[path] = data

    def rename(self, src, dst):
        self.files[dst] = self.files.pop(src)

    def exists(self, path):
        return path in self.files


flash = Flash()
units = [(spec["name"], cls.KIND) for spec, cls in app.unit_specs(board)]  # as app.Runtime
params = Params(flash, "", units, board["hw_limits"])
params.values = params.defaults()
params.save()
((path, record),) = flash.files.items()
print(json.dumps({"version": VERSION, "schema": m.SCHEMA_HASH,
                  "config": [path, record.decode()]}))
