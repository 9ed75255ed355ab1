"""SDTM AE of the demo's coded SAEs (mmtrial.sim.demo_sae): the coded term and its MedDRA LLT
code, the ICH E2A flags, AEOUT and the action per drug (SUPPAE AEACN<DRU>; AEACN MULTIPLE when
the drugs' actions differ, SDTMIG 3.4). Expected values: the CTCAE v5.0 table (Lung infection,
MedDRA 10061229) and the demo's entries."""

from __future__ import annotations

import pyreadstat
import pytest

from mmtrial.edc.models import AdverseEvent
from mmtrial.sim.demo_sae import SECOND_VERBATIM

pytestmark = pytest.mark.django_db


def read(folder, name):
    return pyreadstat.read_xport(str(folder / f"{name.lower()}.xpt"))[0]


def _row(ae_frame, supp, ae):
    """The AE row of the serious event `ae`: its coded term on its start date (the demo's
    verbatim is Japanese, so AETERM holds the coded English term, mmtrial.cdisc.text)."""
    rows = ae_frame[
        (ae_frame["AEDECOD"] == ae.ctcae_term)
        & (ae_frame["AESTDTC"] == ae.start_date.isoformat())
        & (ae_frame["AESER"] == "Y")
    ]
    assert len(rows) == 1, rows
    row = rows.iloc[0]
    quals = supp[(supp["USUBJID"] == row["USUBJID"]) & (supp["IDVARVAL"] == str(int(row["AESEQ"])))]
    return row, dict(zip(quals["QNAM"], quals["QVAL"], strict=True))


def test_the_coded_sae_carries_its_llt_code_criteria_outcome_and_actions(sdtm_dir):
    ae, supp = read(sdtm_dir, "AE"), read(sdtm_dir, "SUPPAE")
    second = AdverseEvent.objects.get(term=SECOND_VERBATIM)
    assert second.term == "肺炎のため入院"  # the demo's entry (mmtrial.sim.demo_sae)
    row, quals = _row(ae, supp, second)
    assert row["AEDECOD"] == "Lung infection"
    assert int(row["AELLTCD"]) == 10061229 and row["AELLT"] == "Lung infection"
    assert row["AEPTCD"] != row["AEPTCD"] or row["AEPTCD"] in ("", None)  # not available
    assert row["AETERM"] == "Lung infection"  # the coded term for the Japanese verbatim
    assert (row["AESER"], row["AESHOSP"], row["AESDTH"], row["AESLIFE"]) == ("Y", "Y", "N", "N")
    assert row["AEOUT"] == "NOT RECOVERED/NOT RESOLVED"
    assert row["AETOXGR"] == "3"
    # lenalidomide and dexamethasone interrupted, no action recorded for ixazomib: one action.
    assert row["AEACN"] == "DRUG INTERRUPTED"
    assert quals["AEACNLEN"] == "DRUG INTERRUPTED" and quals["AEACNDEX"] == "DRUG INTERRUPTED"
    assert "AEACNIXA" not in quals


def test_differing_actions_give_multiple_with_each_drug_in_suppae(sdtm_dir):
    ae, supp = read(sdtm_dir, "AE"), read(sdtm_dir, "SUPPAE")
    first = AdverseEvent.objects.filter(sae_reports__kind="initial").distinct().get()
    row, quals = _row(ae, supp, first)
    assert row["AEDECOD"] == first.ctcae_term
    assert int(row["AELLTCD"]) == int(first.meddra_code)
    assert row["AEACN"] == "MULTIPLE"
    assert quals["AEACNIXA"] == "DRUG INTERRUPTED"
    assert quals["AEACNDEX"] == "DOSE NOT CHANGED"
    assert row["AEOUT"] == "RECOVERING/RESOLVING"


def test_legacy_serious_events_leave_the_criteria_empty(sdtm_dir):
    ae = read(sdtm_dir, "AE")
    legacy = ae[(ae["AESER"] == "Y") & ae["AELLTCD"].isna()]
    for flag in ("AESDTH", "AESHOSP", "AESLIFE", "AESDISAB", "AESCONG", "AESMIE"):
        assert set(legacy[flag]) <= {""}
