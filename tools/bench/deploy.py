"""Deploy time through a bench board's REPL pty: `pilotedge deploy` end to end.

    .venv/bin/python tools/bench/deploy.py [--speed 20]

On one bench board with a bare flash: a full deploy (every file written, .mpy), the same
deploy again (nothing to write), a build with a changed version string (one module written,
the others copied on the board) and a full deploy of sources (--source), each until the
board's HELLO is checked. Every step is timed from the deploy's own progress lines. A
board's boot settles for 2 s of its own uptime, which --speed shortens in wall time. Last
line:
    deploy: full_s=N again_s=N one_module_s=N source_full_s=N
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from pilotedge import deploy, resources
from pilotedge.bench import Bench

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "tests" / "sim" / "scenarios" / "smoke.toml"


def timed(title, board, **options):
    """Deploy, printing each progress line with the seconds since the start; returns the
    total."""
    print(title)
    start = time.monotonic()

    def report(line):
        print("  %6.2f s  %s" % (time.monotonic() - start, line))

    deploy.deploy("sim", board.repl_port, protocol_port=board.protocol_port, report=report,
                  **options)
    total = time.monotonic() - start
    print("  %6.2f s  done" % total)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=20.0,
                        help="the bench board's simulated seconds per real second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        changed = Path(work, "firmware")
        shutil.copytree(resources.firmware_dir(), changed)
        version = changed / "runtime" / "__init__.py"
        version.write_text(version.read_text().replace("(0, 1, 0)", "(0, 1, 1)"))
        with Bench(SCENARIO, speed=args.speed, workdir=Path(work, "bench"), fresh=True,
                   deploy=False) as bench:
            board = bench.boards[0]
            full = timed("full deploy to a bare board", board)
            again = timed("the same deploy again", board)
            one = timed("a build with a changed version string", board, firmware=changed)
            shutil.rmtree(board.flash_dir / deploy.APP)
            source = timed("a full deploy of sources", board, source=True)
    print("deploy: full_s=%.2f again_s=%.2f one_module_s=%.2f source_full_s=%.2f"
          % (full, again, one, source))


if __name__ == "__main__":
    main()
