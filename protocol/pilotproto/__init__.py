"""pilotedge wire protocol: generated tables (messages, schema) and the shared framing codec.

Pure Python that runs unchanged on MicroPython and CPython; it imports nothing from
firmware/ or host/.
"""
