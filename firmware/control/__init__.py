# pilotedge: pure control math (MIT). Imports only math and compat: no hal, drivers, clock.
