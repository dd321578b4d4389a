"""The virtual bench: the real firmware in the MicroPython Unix port against simulated plants,
reachable like boards on USB cables (protocol and REPL on pty paths, flash as a folder).

    from pilotedge.bench import Bench

    with Bench("vessel_batch_48h", boards=2, speed=100) as bench:
        board = bench.boards[0]
        print(board.protocol_port, board.repl_port, board.flash_dir)
        bench.inject(0, "sensor_open", target="v0_temp")
        bench.reset(0)
"""

from ..errors import BenchError, ScenarioError
from .bench import Bench
from .board import SimBoard
from .scenario import EVENTS

__all__ = ["Bench", "BenchError", "EVENTS", "ScenarioError", "SimBoard"]
