# pilotedge: the health verdict of a calibration, worst last so max() combines them (MIT).
#
# GOOD: in force without remark. WARN: in force, telemetry and an event say the sensor or
# pump is ageing. REJECT: not taken; the calibration in force stays.

from compat import const

GOOD = const(0)
WARN = const(1)
REJECT = const(2)
