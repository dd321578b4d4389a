"""The firmware's certificate tables (control/standards.py) agree with the bench's physical
truth (sim/standards.py), which neither side may import: 0.005 pH for every buffer and 0.5 mV
for every ORP standard and reference electrode, 5 to 45 degC in 0.5 K steps."""

import pytest

from control import standards
from sim import standards as truth

TEMPS_C = [5.0 + 0.5 * i for i in range(81)]
BUFFER_IDS = {"1.68": 1680, "4.01": 4010, "6.86": 6860, "7.00": 7000, "9.18": 9180,
              "10.01": 10010}
ORP_IDS = {"quinhydrone_4.01": 4010, "quinhydrone_6.86": 6860}
REF_IDS = {"agcl_sat": standards.REF_AGCL_SAT, "agcl_3.5m": standards.REF_AGCL_3M5,
           "agcl_3m": standards.REF_AGCL_3M}


def test_every_bench_standard_has_a_firmware_table():
    assert set(truth.names()) == set(BUFFER_IDS) | set(ORP_IDS)
    assert set(truth.REFERENCES) == set(REF_IDS)


@pytest.mark.parametrize("name", sorted(BUFFER_IDS))
def test_buffers_agree(name):
    worst = max(abs(standards.buffer_ph(BUFFER_IDS[name], t) - truth.buffer_ph(name, t))
                for t in TEMPS_C)
    assert worst <= 0.005


@pytest.mark.parametrize("name", sorted(ORP_IDS))
def test_orp_standards_agree(name):
    for t in TEMPS_C:
        she = truth.Standard(name, t).orp_mv_she
        assert standards.orp_standard_she_mv(ORP_IDS[name], t) == pytest.approx(she, abs=0.5)


@pytest.mark.parametrize("name", sorted(REF_IDS))
def test_references_agree(name):
    for t in TEMPS_C:
        assert standards.reference_mv(REF_IDS[name], t) == pytest.approx(
            truth.reference_mv(name, t), abs=0.5)
