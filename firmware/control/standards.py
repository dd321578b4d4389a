# pilotedge: the certificate values a technician calibrates against: pH buffers, ORP
# standards and reference electrodes, each a table over temperature (MIT).
#
# A table is (id, first degC, rows at 5 K steps): milli-pH for buffers, 0.1 mV for ORP
# standards, mV for references, so each is one constant tuple of small ints. Between rows:
# linear; beyond the ends: the end rows' slope (standards are used near room temperature).
# Unknown ids give None, never an exception: ids arrive in commands.
#
# Buffer ids are the nominal pH in milli-pH, the integer a calibrate command carries:
#   1680 potassium tetraoxalate 0.05 M, Ph. Eur. 2.2.3 [S20] (15-35 degC only);
#   4010 potassium hydrogen phthalate 0.05 M, the closed form of [S24] at 5 K steps;
#   6860 phosphate, 9180 borax: technical/NIST rows of [S22] at 0/20/25/30/40/50 degC,
#   linear between them ([S21] gives 6.95/6.92 and 9.40/9.33 at 5/10 degC, up to 0.01 pH
#   off these rows; the bench's tables use the same rows);
#   7000, 10010: "American" buffers in 5 K steps [S21].
# ORP standards: quinhydrone saturated in the 4.01 or 6.86 buffer (id = that buffer's id),
# mV against Ag/AgCl in 3.3 M KCl [S48], taken as the 3.5 M reference (within 2 mV).
# References: Ag/AgCl in saturated and 3.5 M KCl [S50], in 3 M KCl [S51]
# (docs/references.md §1.2, §2.3, §2.5).

from compat import const

REF_AGCL_SAT = const(0)
REF_AGCL_3M5 = const(1)
REF_AGCL_3M = const(2)
_STEP_C = const(5)

BUFFERS = (
    (1680, 15, (1670, 1680, 1680, 1680, 1690)),
    (4010, 0, (4010, 4004, 4000, 4000, 4001, 4006, 4012, 4021, 4031, 4043, 4057, 4071, 4087)),
    (6860, 0, (6980, 6955, 6930, 6905, 6880, 6860, 6850, 6845, 6840, 6835, 6830)),
    (7000, 0, (7120, 7090, 7060, 7040, 7020, 7000, 6990, 6990, 6980, 6980, 6970)),
    (9180, 0, (9460, 9400, 9340, 9280, 9220, 9180, 9140, 9105, 9070, 9040, 9010)),
    (10010, 0, (10320, 10250, 10180, 10120, 10060, 10010, 9970, 9930, 9890, 9860, 9830)),
)
ORP_STANDARDS = (
    (4010, 5, (2742, 2709, 2668, 2625, 2576, 2535, 2486, 2436)),
    (6860, 5, (1119, 1069, 1010, 950, 890, 827, 762, 690)),
)
REFERENCES = (
    (REF_AGCL_SAT, 15, (209, 204, 199, 194, 189)),
    (REF_AGCL_3M5, 15, (212, 208, 205, 201, 197)),
    (REF_AGCL_3M, 5, (221, 217, 214, 210, 207, 203, 200, 196)),
)


def _lookup(tables, ident, temp_c):
    # Table value of `ident` at temp_c in the table's own unit, or None for an unknown id.
    for t_id, t0_c, rows in tables:
        if t_id == ident:
            last = len(rows) - 1
            i = int((temp_c - t0_c) // _STEP_C)
            i = 0 if i < 0 else last - 1 if i >= last else i
            y0 = rows[i]
            return y0 + (rows[i + 1] - y0) * (temp_c - t0_c - i * _STEP_C) / _STEP_C
    return None


def buffer_ph(ident, temp_c):
    v = _lookup(BUFFERS, ident, temp_c)
    return None if v is None else v / 1000


def orp_standard_she_mv(ident, temp_c):
    # Potential of an ORP standard against SHE (its table is against Ag/AgCl 3.5 M KCl).
    v = _lookup(ORP_STANDARDS, ident, temp_c)
    return None if v is None else v / 10 + _lookup(REFERENCES, REF_AGCL_3M5, temp_c)


def reference_mv(kind, temp_c):
    # Potential of a reference electrode against SHE, mV.
    return _lookup(REFERENCES, kind, temp_c)
