"""The virtual bench's simulated world: plants, devices, signals (unix port, not deployed)."""
