# pilotedge: firmware runtime: scheduler, store, params, link, safety (MIT).

VERSION = (0, 1, 0)  # firmware major, minor, patch, reported in HELLO
