"""The batch forms (`assess_many`, `assess_frame`) are `assess` underneath; the criteria table is
data with a source for every threshold."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mmtrial.clinical import imwg
from mmtrial.clinical.imwg_criteria import CRITERIA, load_criteria, parse_criteria
from mmtrial.errors import InputError

CASES = sorted((Path(__file__).parent / "imwg_cases").glob("*.json"))


def _inputs() -> list[tuple[str, dict]]:
    return [(path.stem, json.loads(path.read_text())["input"]) for path in CASES]


def test_assess_many_equals_assess_for_every_case():
    results = imwg.assess_many(_inputs())
    assert list(results) == [key for key, _ in _inputs()]
    for key, data in _inputs():
        assert results[key].to_dict() == imwg.assess(data).to_dict()


def test_assess_many_names_the_participant_whose_input_is_bad():
    bad = {"baseline": {"date": "2027-01-04"}, "assessments": [{"date": "2027-01-01"}]}
    with pytest.raises(InputError) as caught:
        imwg.assess_many([("ok", _inputs()[0][1]), ("P-007", bad)])
    assert caught.value.message.startswith("participant P-007: assessments[0].date")
    assert caught.value.extra == {"participant": "P-007"}


def _long_frame() -> pd.DataFrame:
    rows = []
    for key, data in _inputs():
        rows.append({"participant_id": key, "is_baseline": True, **data["baseline"]})
        rows.extend(
            {"participant_id": key, "is_baseline": False, **visit} for visit in data["assessments"]
        )
    frame = pd.DataFrame(rows)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.sample(frac=1.0, random_state=7)  # row order must not matter


def test_assess_frame_gives_the_same_derivation_as_assess():
    frames = imwg.assess_frame(_long_frame())
    participants = frames.participants.set_index("participant_id")
    for key, data in _inputs():
        expected = imwg.assess(data)
        row = participants.loc[key]
        assert row["best_overall_response"] == expected.best_overall_response
        assert row["progression_date"] == (expected.progression_date or None)
        assert row["engine_version"] == imwg.ENGINE_VERSION
        rows = frames.assessments[frames.assessments["participant_id"] == key]
        assert list(rows["response"]) == [a.response for a in expected.assessments]
        assert list(rows["confirmed"]) == [a.confirmed for a in expected.assessments]


def test_assess_frame_needs_its_columns_and_does_not_modify_the_input():
    frame = _long_frame()
    copy = frame.copy()
    imwg.assess_frame(frame)
    pd.testing.assert_frame_equal(frame, copy)
    with pytest.raises(InputError, match="is_baseline"):
        imwg.assess_frame(frame.drop(columns=["is_baseline"]))


def test_result_serialises_to_the_contract_json():
    result = imwg.assess(_inputs()[0][1])
    assert json.loads(result.to_json()) == result.to_dict() == result.model_dump()
    assert isinstance(imwg.ENGINE_VERSION, str) and imwg.ENGINE_VERSION


def test_every_threshold_is_named_with_its_imwg_2016_source():
    assert CRITERIA.reference == "Kumar S, et al. Lancet Oncol 2016;17:e328"
    assert len(CRITERIA.thresholds) >= 30
    for name, threshold in CRITERIA.thresholds.items():
        assert threshold.source.startswith(("Kumar 2016, Table 2", "contracts/imwg.md")), name
        assert getattr(CRITERIA, name) == threshold.value
    assert CRITERIA.pd_serum_increase_pct == 0.25
    assert CRITERIA.text("pd_serum_increase_pct") == "25%"
    assert CRITERIA.text("vgpr_urine_below_mg_24h") == "100 mg/24h"


def test_the_criteria_loader_rejects_a_table_with_a_missing_threshold():
    from importlib import resources

    import yaml

    document = yaml.safe_load(
        resources.files("mmtrial.clinical").joinpath("imwg_criteria.yaml").read_text()
    )
    del document["thresholds"]["pd_urine_increase_mg_24h"]
    with pytest.raises(ValueError, match="pd_urine_increase_mg_24h"):
        parse_criteria(document)
    assert load_criteria() == CRITERIA
