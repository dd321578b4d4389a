"""Plant-model tests import the bench plants the way the unix port does: from firmware/.

The `bench` fixture starts a virtual bench for the integration tests (and the HIL suite's
simulated rig): @pytest.mark.bench(scenario=..., boards=..., speed=...) sets its options.
"""

import pathlib
import sys

import pytest

FIRMWARE_DIR = pathlib.Path(__file__).resolve().parents[2] / "firmware"
FWCHECK_DIR = FIRMWARE_DIR.parent / "tests" / "firmware"  # fwcheck.py: raises/near
for directory in (FIRMWARE_DIR, FWCHECK_DIR):
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))

SCENARIOS = pathlib.Path(__file__).resolve().parent / "scenarios"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "bench(scenario='smoke.toml', boards=1, speed=20, **Bench options): virtual bench setup",
    )


@pytest.fixture
def bench(request, tmp_path):
    """A started pilotedge.bench.Bench with fresh flash folders under tmp_path.

    Defaults: tests/sim/scenarios/smoke.toml, one board, 20x real time (fast, yet the
    host link's heartbeats keep up). Fails the test if a board process ended without a
    reset report (a bench failure, not a firmware one).
    """
    from pilotedge.bench import Bench

    marker = request.node.get_closest_marker("bench")
    options = dict(marker.kwargs) if marker else {}
    scenario = SCENARIOS / options.pop("scenario", "smoke.toml")
    options.setdefault("speed", 20)
    with Bench(scenario, workdir=tmp_path / "bench", fresh=True, **options) as b:
        yield b
        crashed = [board.crash for board in b.boards if board.crash]
    assert not crashed, crashed
