"""SDTM DA of the demo study: every stored accountability amount as one record (SDTMIG 3.4
DA: DATESTCD DISPAMT / RETAMT, units CAPSULE / TABLET from the UNIT codelist), the drug as EX
names it, and define.xml listing the domain."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pyreadstat
import pytest

from mmtrial.edc.models import DrugAccountability, Query

pytestmark = pytest.mark.django_db

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"


def _da(sdtm_dir):
    frame, _meta = pyreadstat.read_xport(str(sdtm_dir / "da.xpt"))
    return frame


def test_every_stored_amount_is_one_da_record(sdtm_dir):
    rows = list(DrugAccountability.objects.filter(is_deleted=False))
    assert rows, "the demo records accountability for at least one cycle"
    expected = sum(1 + (r.returned_count is not None) + (r.lost_count > 0) for r in rows)
    da = _da(sdtm_dir)
    assert len(da) == expected
    assert set(da["DATESTCD"]) == {"DISPAMT", "RETAMT"}  # the demo loses nothing
    assert set(da["DATEST"]) == {"Dispensed Amount", "Returned Amount"}
    assert set(da["DAORRESU"]) == {"CAPSULE", "TABLET"}
    assert (da["DAORRESU"] == da["DASTRESU"]).all()
    assert set(da["DOMAIN"]) == {"DA"}


def test_a_record_carries_the_count_the_drug_the_cycle_and_the_bottle(sdtm_dir):
    row = DrugAccountability.objects.filter(drug="dexamethasone").order_by("pk").first()
    da = _da(sdtm_dir)
    mine = da[(da["DAREFID"] == row.bottle_id) & (da["DATESTCD"] == "DISPAMT")]
    assert len(mine) == 1
    record = mine.iloc[0]
    assert record["DACAT"] == "DEXAMETHASONE"
    assert record["DASPID"] == f"C{row.cycle_number}"
    assert record["DAORRES"] == str(row.dispensed_count)
    assert record["DASTRESN"] == float(row.dispensed_count)
    assert record["DAORRESU"] == "TABLET"
    assert record["DADTC"] == row.dispensed_on.isoformat()


def test_da_treatment_names_are_ex_treatments(sdtm_dir):
    ex, _meta = pyreadstat.read_xport(str(sdtm_dir / "ex.xpt"))
    assert set(_da(sdtm_dir)["DACAT"]) <= set(ex["EXTRT"])


def test_seq_is_unique_per_subject(sdtm_dir):
    da = _da(sdtm_dir)
    assert not da.duplicated(["USUBJID", "DASEQ"]).any()


def test_define_lists_da(sdtm_dir):
    root = ET.parse(sdtm_dir / "define.xml").getroot()
    names = {g.get("Name") for g in root.iter(f"{ODM}ItemGroupDef")}
    assert "DA" in names


def test_the_demo_mismatch_opened_one_query():
    queries = Query.objects.filter(model="drugaccountability", origin="edit_check")
    assert queries.count() == 1
    row = DrugAccountability.objects.get(pk=int(queries.get().object_pk))
    assert row.drug == "lenalidomide"
