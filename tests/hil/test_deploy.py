"""HIL: a deploy onto the board under test, then the board says HELLO with what was deployed.

On the bench rig every board of the suite is deployed this way before its test; here the
firmware is deployed again over a running board, which must copy nothing that has not
changed, keep the board's own records and boot the build."""

from hil import Board, next_frame
from pilotedge import deploy
from pilotedge.resources import firmware_dir


def test_a_deploy_of_the_same_build_copies_nothing_keeps_the_config_and_boots(rig, board):
    v0 = Board(rig.board).units["v0"]
    old = board.param_get(v0, "temp_high").value
    board.param_set(v0, "temp_high", "47 degC")
    try:
        boot = board.hello()["boot_count"]
        hellos = board.listen("HELLO")
        lines = []
        # The suite's link holds the protocol port: the deploy only resets the board, and
        # the HELLO after the reset arrives here.
        done = deploy.deploy(rig.board, rig.repl_port, report=lines.append)
        assert done.stats.written == 0, lines  # the same build: nothing to copy again
        hello = next_frame(hellos, lambda f: f.fields()["boot_count"] > boot).fields()
        version = (firmware_dir() / "runtime" / "__init__.py").read_text()
        running = tuple(hello["fw_" + k] for k in ("major", "minor", "patch"))
        assert "VERSION = (%d, %d, %d)" % running in version
        board.hello()
        assert board.param_get(v0, "temp_high").value == 47.0  # the config survived
    finally:
        board.param_set(v0, "temp_high", old)
