"""pilotedge host tools: codec, logger, virtual bench, deploy and test harness."""

__version__ = "0.1.0"
