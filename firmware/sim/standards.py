# pilotedge bench: what a technician dips electrodes into, as the physics has it (MIT).
#
# pH buffers and ORP standards with their temperature tables, the potentials of reference
# electrodes, and the measuring cylinder a pump can be run into. A sensor moved into one of
# these reads it with its own lag, offset and noise, exactly as it reads the vessel
# (sim/signals.py, World.apply). Sources are in docs/references.md.

from sim.common import KELVIN

# pH of standard buffers against temperature (degC, pH). Between rows: linear; beyond the
# ends: the end row's slope (buffers are used near room temperature, well inside the rows).
BUFFERS = {
    # Potassium tetraoxalate 0.05 M, Ph. Eur. 2.2.3 [S20].
    "1.68": ((15, 1.67), (20, 1.68), (25, 1.68), (30, 1.68), (35, 1.69)),
    # Phosphate, borax: technical/NIST buffers 0-50 degC [S22].
    "6.86": ((0, 6.98), (20, 6.88), (25, 6.86), (30, 6.85), (40, 6.84), (50, 6.83)),
    "9.18": ((0, 9.46), (20, 9.22), (25, 9.18), (30, 9.14), (40, 9.07), (50, 9.01)),
    # "American" 7.00 and 10.01 in 5 K steps [S21].
    "7.00": ((0, 7.12), (5, 7.09), (10, 7.06), (15, 7.04), (20, 7.02), (25, 7.00), (30, 6.99),
             (35, 6.99), (40, 6.98), (45, 6.98), (50, 6.97)),
    "10.01": ((0, 10.32), (5, 10.25), (10, 10.18), (15, 10.12), (20, 10.06), (25, 10.01),
              (30, 9.97), (35, 9.93), (40, 9.89), (45, 9.86), (50, 9.83)),
}
# Potassium hydrogen phthalate ("4.01") has a closed form, 0-60 degC [S24].
_PHTHALATE = "4.01"

# ORP standards: quinhydrone-saturated buffers, mV at 5, 10, ... 40 degC against the meter's
# Ag/AgCl reference in 3.3 M KCl [S48], taken as the 3.5 M column of the reference table
# (within 2 mV; assumption).
ORP_STANDARDS = {
    "quinhydrone_4.01": ((5, 274.2), (10, 270.9), (15, 266.8), (20, 262.5), (25, 257.6),
                         (30, 253.5), (35, 248.6), (40, 243.6)),
    "quinhydrone_6.86": ((5, 111.9), (10, 106.9), (15, 101.0), (20, 95.0), (25, 89.0),
                         (30, 82.7), (35, 76.2), (40, 69.0)),
}
_ORP_STANDARD_REF = "agcl_3.5m"

# Reference electrode potentials against SHE, mV (degC, mV): Ag/AgCl in saturated and 3.5 M
# KCl [S50], in 3 M KCl (a cartridge maker's table) [S51].
REFERENCES = {
    "agcl_sat": ((15, 209.0), (20, 204.0), (25, 199.0), (30, 194.0), (35, 189.0)),
    "agcl_3.5m": ((15, 212.0), (20, 208.0), (25, 205.0), (30, 201.0), (35, 197.0)),
    "agcl_3m": ((5, 221.0), (10, 217.0), (15, 214.0), (20, 210.0), (25, 207.0), (30, 203.0),
                (35, 200.0), (40, 196.0)),
}


def interpolate(rows, x):
    """Piecewise-linear y(x) through sorted (x, y) rows, extended by the end slopes."""
    i = 1
    while i < len(rows) - 1 and x > rows[i][0]:
        i += 1
    x0, y0 = rows[i - 1]
    x1, y1 = rows[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def buffer_ph(name, temp_c):
    """pH of a standard buffer at temp_c; KeyError for an unknown buffer."""
    if name == _PHTHALATE:
        t = temp_c + KELVIN
        return 2073.44 / t - 13.3270 + 0.045199 * t - 3.4846e-5 * t * t
    return interpolate(BUFFERS[name], temp_c)


def reference_mv(kind, temp_c):
    """Potential of a reference electrode against SHE, mV; KeyError for an unknown kind."""
    return interpolate(REFERENCES[kind], temp_c)


def names():
    """Every standard a sensor can be put into."""
    return sorted(BUFFERS) + [_PHTHALATE] + sorted(ORP_STANDARDS)


class Standard:
    """A beaker of a pH buffer or an ORP standard at a fixed temperature, with what the
    vessel plant offers its sensors: ph, temp_c and, for an ORP standard, orp_mv_she (its
    pH is that of the buffer it is made in)."""

    def __init__(self, name, temp_c):
        self.name = name
        self.temp_c = temp_c
        if name in ORP_STANDARDS:
            self.ph = buffer_ph(name.split("_")[1], temp_c)
            self.orp_mv_she = interpolate(ORP_STANDARDS[name], temp_c) + reference_mv(
                _ORP_STANDARD_REF, temp_c)
        else:
            self.ph = buffer_ph(name, temp_c)


class Cylinder:
    """A measuring cylinder under a pump's outlet: collects what the pump really delivers."""

    def __init__(self):
        self.ml = 0.0
