"""`pilotedge decode FILE`: a raw serial capture as JSON lines, one per valid frame.

Each line is {"msg", "seq", "fields"} with fields in engineering units (enums by name, a
parameter's value in the parameter's unit: 35.0 for temp_sp at 35 degC); a
last line {"frames": N, "errors": {kind: n}} counts what was found. Damage inside the file
is counted, not fatal: the exit status is 0 whenever the file could be read.
"""

import json
import os
import sys

from . import codec
from .errors import UsageError

_CHUNK = 1 << 16


def add_arguments(parser):
    parser.add_argument("file", help="capture of raw serial bytes; - reads standard input")


def run(args):
    try:
        stream = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")
    except OSError as exc:
        raise UsageError("cannot read %s: %s" % (args.file, exc.strerror or exc))
    decoder = codec.StreamDecoder()
    out = sys.stdout
    try:
        with stream:
            for chunk in _chunks(stream, args.file):
                for f in decoder.feed(chunk):
                    out.write(json.dumps({"msg": f.name, "seq": f.seq,
                                          "fields": codec.engineering(f)}))
                    out.write("\n")
        decoder.flush()
        out.write(json.dumps({"frames": decoder.frames, "errors": decoder.errors}) + "\n")
        out.flush()
    except BrokenPipeError:
        # The reader (head, less) has seen enough; point stdout at /dev/null so the flush at
        # exit does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _chunks(stream, name):
    while True:
        try:
            chunk = stream.read(_CHUNK)
        except OSError as exc:
            raise UsageError("cannot read %s: %s" % (name, exc.strerror or exc))
        if not chunk:
            return
        yield chunk
