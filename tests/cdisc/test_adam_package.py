"""The ADaM package of the demo study: `mmtrial analyze --adam` on it prints what `mmtrial
analyze` prints from the database, and each analysis record traces to its SDTM record."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pyreadstat
import pytest
from typer.testing import CliRunner

from mmtrial.cli import app

pytestmark = pytest.mark.django_db

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
ARM = "{http://www.cdisc.org/ns/arm/v1.0}"
SAS_EPOCH = dt.date(1960, 1, 1)


def read(folder, name):
    frame, _ = pyreadstat.read_xport(str(folder / f"{name.lower()}.xpt"))
    return frame


def _iso(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def test_analyze_on_the_export_prints_exactly_what_analyze_prints_from_the_database(adam_dir):
    runner = CliRunner()
    from_database = runner.invoke(app, ["analyze", "--json"])
    from_export = runner.invoke(app, ["analyze", "--adam", str(adam_dir), "--json"])
    assert from_database.exit_code == 0, from_database.output
    assert from_export.exit_code == 0, from_export.output
    assert from_export.stdout == from_database.stdout
    summary = json.loads(from_export.stdout)
    assert summary["populations"]["enrolled"] == len(read(adam_dir, "ADSL"))
    tables = runner.invoke(app, ["analyze", "--adam", str(adam_dir)])
    assert tables.stdout == runner.invoke(app, ["analyze"]).stdout


def test_adam_usubjids_are_the_sdtm_subjects(adam_dir, sdtm_dir):
    dm = read(sdtm_dir, "DM")
    adsl = read(adam_dir, "ADSL")
    assert set(adsl["USUBJID"]) == set(dm.loc[dm["ARMNRS"] != "SCREEN FAILURE", "USUBJID"])
    for name in ("ADRS", "ADTTE", "ADAE", "ADEX", "ADLB"):
        assert set(read(adam_dir, name)["USUBJID"]) <= set(adsl["USUBJID"])
    merged = adsl.merge(dm, on="USUBJID", suffixes=("", "_DM"))
    for var in ("SUBJID", "SITEID", "AGE", "SEX", "ARM", "ACTARM"):
        assert (merged[var] == merged[f"{var}_DM"]).all(), var
    assert (merged["TRTSDT"].map(_iso) == merged["RFXSTDTC"]).all()


def test_adrs_records_point_to_the_rs_record_they_equal(adam_dir, sdtm_dir):
    rs = read(sdtm_dir, "RS").set_index(["USUBJID", "RSSEQ"])
    adrs = read(adam_dir, "ADRS")
    assert adrs["SRCSEQ"].notna().all() and set(adrs["SRCDOM"]) == {"RS"}
    for row in adrs.itertuples():
        source = rs.loc[(row.USUBJID, row.SRCSEQ)]
        adt = "" if row.ADT != row.ADT or row.ADT is None else _iso(row.ADT)  # NE: no date
        assert source["RSSTRESC"] == row.AVALC and source["RSDTC"] == adt
        assert source["RSTESTCD"] == {"CBOR": "BESTRESP", "OVR": "OVRLRESP"}[row.PARAMCD]


def test_adtte_events_trace_to_rs_dm_or_adsl(adam_dir, sdtm_dir):
    adtte = read(adam_dir, "ADTTE")
    rs = read(sdtm_dir, "RS").set_index(["USUBJID", "RSSEQ"])
    dm = read(sdtm_dir, "DM").set_index("USUBJID")
    assert set(adtte["PARAMCD"]) <= {"PFS", "OS", "TTP", "DOR", "TTR"}
    assert not adtte.duplicated(["USUBJID", "PARAMCD"]).any()
    assert (adtte["AVAL"] == adtte.apply(lambda r: (r.ADT - r.STARTDT).days + 1, axis=1)).all()
    for row in adtte.itertuples():
        if row.SRCDOM == "RS":
            assert rs.loc[(row.USUBJID, row.SRCSEQ)]["RSDTC"] == _iso(row.ADT)
        elif row.SRCDOM == "DM":
            assert row.CNSR == 0 and dm.loc[row.USUBJID]["DTHDTC"] == _iso(row.ADT)
    assert adtte["SRCDOM"].isin(["RS", "DM", "ADSL"]).all()


def test_adae_and_adlb_trace_to_ae_and_lb(adam_dir, sdtm_dir):
    ae = read(sdtm_dir, "AE").set_index(["USUBJID", "AESEQ"])
    adae = read(adam_dir, "ADAE")
    assert len(adae) == len(ae)
    for row in adae.itertuples():
        source = ae.loc[(row.USUBJID, row.AESEQ)]
        assert (source["AETERM"], source["AESTDTC"]) == (row.AETERM, _iso(row.ASTDT))
    lb = read(sdtm_dir, "LB").set_index(["USUBJID", "LBSEQ"])
    adlb = read(adam_dir, "ADLB")
    assert adlb["SRCSEQ"].notna().all()
    for row in adlb.itertuples():
        source = lb.loc[(row.USUBJID, row.SRCSEQ)]
        assert source["LBSTRESN"] == pytest.approx(row.AVAL)
        assert source["LBSPEC"] == {"SMPROT": "SERUM", "UMPROT": "URINE"}[row.PARAMCD]


def test_adam_define_is_valid_with_analysis_results_metadata(adam_dir):
    from odmlib.odm_parser import ODMSchemaValidator

    path = adam_dir / "define.xml"
    ODMSchemaValidator(standard="arm", version="1.0-define2.1").validate_file(str(path))
    root = ET.parse(path).getroot()
    results = {r.get("OID"): r for r in root.iter(f"{ARM}AnalysisResult")}
    assert set(results) == {"AR.VGPR_OR_BETTER", "AR.ORR", "AR.PFS"}
    primary = results["AR.VGPR_OR_BETTER"]
    assert primary.get("AnalysisPurpose") == "PRIMARY OUTCOME MEASURE"
    text = " ".join(primary.itertext())
    assert "Clopper-Pearson" in text and "sCR, CR, VGPR" in text
    datasets = {d.get("ItemGroupOID") for d in primary.iter(f"{ARM}AnalysisDataset")}
    assert datasets == {"IG.ADSL", "IG.ADRS"}
    items = {i.get("OID"): i.get("Name") for i in root.iter(f"{ODM}ItemDef")}
    in_define = {
        g.get("Name"): [items[r.get("ItemOID")] for r in g.findall(f"{ODM}ItemRef")]
        for g in root.iter(f"{ODM}ItemGroupDef")
    }
    in_files = {
        p.stem.upper(): list(pyreadstat.read_xport(str(p), metadataonly=True)[1].column_names)
        for p in adam_dir.glob("*.xpt")
    }
    assert in_define == in_files
    methods = {m.get("OID"): " ".join(m.itertext()) for m in root.iter(f"{ODM}MethodDef")}
    assert "derive_adtte" in methods["MT.TTE.PFS"] and "section 11" in methods["MT.TTE.PFS"]


def test_adam_dates_are_sas_dates_with_date9(adam_dir):
    _, meta = pyreadstat.read_xport(str(adam_dir / "adsl.xpt"), metadataonly=True)
    assert meta.original_variable_types["TRTSDT"] == "DATE9"
    raw, _ = pyreadstat.read_xport(str(adam_dir / "adsl.xpt"), disable_datetime_conversion=True)
    adsl = read(adam_dir, "ADSL")
    first = adsl["TRTSDT"].dropna().iloc[0]
    assert raw["TRTSDT"].dropna().iloc[0] == (first - SAS_EPOCH).days
