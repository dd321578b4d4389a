"""Compile host/pilotedge/sparkplug/sparkplug_b.proto into sparkplug_b_pb2.py.

The generated module is committed, so an installed pilotedge needs only the protobuf runtime;
the compiler is grpcio-tools' bundled protoc (a test dependency). `--check` exits 1 when the
committed module differs from what the .proto compiles to (run by make test).
"""

import argparse
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

FOLDER = Path(__file__).resolve().parent.parent / "host" / "pilotedge" / "sparkplug"
PROTO = "sparkplug_b.proto"
OUT = FOLDER / "sparkplug_b_pb2.py"


def compile_proto():
    """The generated module's text."""
    with tempfile.TemporaryDirectory() as out:
        status = protoc.main(["protoc", "-I%s" % FOLDER, "--python_out=%s" % out,
                              str(FOLDER / PROTO)])
        if status != 0:
            raise SystemExit("protoc failed on %s" % PROTO)
        return (Path(out) / OUT.name).read_text()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the module is stale")
    args = parser.parse_args()
    text = compile_proto()
    if args.check:
        if not OUT.is_file() or OUT.read_text() != text:
            print("%s is stale: run tools/gen_sparkplug.py" % OUT, file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print("wrote %s" % OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
