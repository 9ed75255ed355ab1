"""`mmtrial protocol export --usdm`: the protocol file as CDISC USDM v4 (usdm4).

Expected values are read off the protocol file by hand (protocols/irdj.yaml): 28-day cycles;
treatment visits on days 1, 8, 15, 22 in cycles 1-2, days 1 and 15 in cycle 3, day 1 from
cycle 4; ixazomib days 1, 8, 15, lenalidomide 1-21, dexamethasone 1, 8, 15, 22; 18
eligibility criteria; C2D1 window -3/+3 days.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app


@pytest.fixture(scope="module")
def usdm(tmp_path_factory):
    out = tmp_path_factory.mktemp("usdm") / "irdj.json"
    result = CliRunner().invoke(app, ["protocol", "export", "--usdm", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output, json.loads(out.read_text(encoding="utf-8"))


def _design(document):
    return document["study"]["versions"][0]["studyDesigns"][0]


def test_the_document_is_usdm_4_and_loads_back_into_usdm4(usdm):
    from simple_error_log.errors import Errors
    from usdm4 import USDM4

    path, _output, document = usdm
    assert document["usdmVersion"].startswith("4.")
    errors = Errors()
    assert USDM4().load(str(path), errors) is not None
    assert errors.count() == 0


def test_one_open_label_arm_and_four_epochs(usdm):
    design = _design(usdm[2])
    assert design["instanceType"] == "InterventionalStudyDesign"
    assert design["model"]["decode"] == "Single Group Study"
    assert [a["name"] for a in design["arms"]] == ["IRd"]
    assert [e["name"] for e in design["epochs"]] == [
        "SCREENING",
        "TREATMENT",
        "FOLLOW-UP",
        "LONG-TERM FOLLOW-UP",
    ]
    assert len(design["studyCells"]) == 4  # one arm x four epochs


def test_encounters_follow_the_visit_plan(usdm):
    design = _design(usdm[2])
    treatment = [f"C{c}D{d}" for c in (1, 2) for d in (1, 8, 15, 22)] + ["C3D1", "C3D15", "C4D1"]
    assert [e["name"] for e in design["encounters"]] == [
        "SCREENING",
        *treatment,
        "EOT",
        "PFS_FU",
        "OS_FU",
    ]


def test_the_schedule_of_activities_doses_each_drug_on_its_days(usdm):
    design = _design(usdm[2])
    activities = {a["id"]: a["name"] for a in design["activities"]}
    encounters = {e["id"]: e["name"] for e in design["encounters"]}
    timeline = design["scheduleTimelines"][0]
    assert timeline["mainTimeline"] is True
    at = {
        encounters[i["encounterId"]]: {activities[a] for a in i["activityIds"]}
        for i in timeline["instances"]
    }
    doses = {name for names in at.values() for name in names if name.startswith("DOSE_")}
    assert doses == {"DOSE_IXAZOMIB", "DOSE_LENALIDOMIDE", "DOSE_DEXAMETHASONE"}
    assert {n for n in at["C1D8"] if n.startswith("DOSE_")} == doses
    assert {n for n in at["C1D22"] if n.startswith("DOSE_")} == {"DOSE_DEXAMETHASONE"}
    assert {n for n in at["C3D15"] if n.startswith("DOSE_")} == doses
    assert "CYCLE_START" in at["C2D1"] and "CYCLE_START" not in at["C2D8"]
    assert at["SCREENING"] >= {"CONSENT", "ELIGIBILITY"}


def test_timings_count_from_c1d1_with_the_protocol_windows(usdm):
    design = _design(usdm[2])
    timings = {t["name"]: t for t in design["scheduleTimelines"][0]["timings"]}
    assert timings["TIM_C1D1"]["type"]["decode"] == "Fixed Reference Timing Type"
    c2d1 = timings["TIM_C2D1"]
    assert c2d1["value"] == "P28D"  # day 29: 28 days after day 1
    assert (c2d1["windowLower"], c2d1["windowUpper"]) == ("-P3D", "P3D")
    assert timings["TIM_C1D8"]["value"] == "P7D"
    assert (timings["TIM_C1D8"]["windowLower"], timings["TIM_C1D8"]["windowUpper"]) == (
        "-P1D",
        "P1D",
    )
    assert timings["TIM_C4D1"]["value"] == "P84D"


def test_eligibility_objectives_populations_and_interventions(usdm):
    document = usdm[2]
    version = document["study"]["versions"][0]
    design = _design(document)
    criteria = design["eligibilityCriteria"]
    assert len(criteria) == 18
    assert sum(c["category"]["decode"] == "Exclusion Criteria" for c in criteria) == 5
    items = {i["id"]: i["text"] for i in version["eligibilityCriterionItems"]}
    assert items[criteria[0]["criterionItemId"]] == "Age >= 20 years"
    assert design["population"]["plannedAge"]["minValue"]["value"] == 20
    levels = {
        o["level"]["decode"]: [e["name"] for e in o["endpoints"]] for o in design["objectives"]
    }
    assert levels["Trial Primary Objective"] == ["vgpr_or_better"]
    assert [p["name"] for p in design["analysisPopulations"]] == [
        "enrolled",
        "safety",
        "response_evaluable",
    ]
    doses = {
        i["name"]: i["administrations"][0]["dose"]["value"] for i in version["studyInterventions"]
    }
    assert doses == {"ixazomib": 4, "lenalidomide": 25, "dexamethasone": 40}


def test_usdm4_rules_find_nothing_but_their_own_stale_release_list(usdm):
    """DDF00155's list of CT releases ends before the release usdm4's own library codes with."""
    from usdm3.rules.library.rule_ddf00155 import RuleDDF00155

    from mmtrial.protocol.usdm import usdm_validate

    path, output, document = usdm
    report = usdm_validate(path)
    assert report.unexplained() == [] and report.exceptions == []
    assert report.failed == ["DDF00155"] and len(report.passed) > 20
    versions = set()

    def walk(node):
        if isinstance(node, dict):
            if (
                node.get("instanceType") == "Code"
                and node.get("codeSystem") == "http://www.cdisc.org"
            ):
                versions.add(node["codeSystemVersion"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert versions and not versions & set(RuleDDF00155.VERSION_LIST)
    assert "CORE rules not run" in output
