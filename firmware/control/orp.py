# pilotedge: ORP on the SHE scale, offset calibration against a standard, Fe3+/Fe2+ ratio (MIT).
#
# A Pt electrode reads the solution against its own reference: E_SHE = E_meas + E_ref(T),
# with the reference's own table (saturated and 3 M KCl Ag/AgCl differ by 8-12 mV,
# docs/references.md §1.2). Calibration is a single offset [S49b]: the reading in a standard
# minus what the standard gives against this reference at its temperature. Health [S47][S48]:
# within +-15 mV good, within +-50 mV usable (warn), beyond: clean or replace (reject).
#
# Fe3+/Fe2+ from Nernst, E = E0' + (RT/F) ln(ratio) (docs/references.md §1.2): E0' is the
# formal potential, ~680 mV in sulfate media (unverified, calibrate it), not the 771 mV
# standard potential [S47]. One electron, so one decade per 59.16 mV at 25 degC.

from control.health import GOOD, REJECT, WARN
from control.ph import slope_mv
from control.standards import orp_standard_she_mv, reference_mv

E0_FE_MV = 771.0  # Fe3+/Fe2+ standard potential vs SHE [S47]
E0_FE_SULFATE_MV = 680.0  # formal potential in ~1 M H2SO4 (unverified, §1.2)
_OFFSET_WARN_MV = 15.0
_OFFSET_MAX_MV = 50.0
_MAX_DECADES = 30.0  # a wild reading gives a huge ratio, not an overflow


def she_mv(mv, temp_c, ref, offset_mv=0.0):
    # ORP against SHE from a reading against reference `ref` (standards.REF_*); None for an
    # unknown reference.
    e_ref = reference_mv(ref, temp_c)
    return None if e_ref is None else mv - offset_mv + e_ref


def offset(mv, standard, temp_c, ref):
    # Offset of an electrode reading mv in ORP standard `standard` (a standards id) at
    # temp_c; None for an unknown standard or reference.
    e_std = orp_standard_she_mv(standard, temp_c)
    e_ref = reference_mv(ref, temp_c)
    if e_std is None or e_ref is None:
        return None
    return mv - (e_std - e_ref)


def health(offset_mv):
    if abs(offset_mv) > _OFFSET_MAX_MV:
        return REJECT
    return WARN if abs(offset_mv) > _OFFSET_WARN_MV else GOOD


def fe_decades(e_she_mv, temp_c, e0_mv=E0_FE_SULFATE_MV):
    # log10 [Fe3+]/[Fe2+] of a solution at e_she_mv.
    decades = (e_she_mv - e0_mv) / slope_mv(temp_c)
    return min(max(decades, -_MAX_DECADES), _MAX_DECADES)


def fe_ratio(e_she_mv, temp_c, e0_mv=E0_FE_SULFATE_MV):
    # [Fe3+]/[Fe2+] of a solution at e_she_mv.
    return 10.0 ** fe_decades(e_she_mv, temp_c, e0_mv)
