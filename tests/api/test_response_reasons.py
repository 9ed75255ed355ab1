"""The API gives an IMWG response's reasons as codes with named parameters, worded in the
requested language (issue 12 item 2)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.edc.builders import Study  # noqa: F401 - the study clock (tests/study_clock.py)

pytestmark = pytest.mark.django_db

# The study fixture has serum M-protein 2.4 g/dL at C1D1; here the central laboratory reports
# 1.0 g/dL on day 28, the last assessment: (2.4 - 1.0) / 2.4 = 58% below baseline, a PR
# (IMWG 2016: >= 50%), not confirmed.
SERUM = {
    "code": "serum",
    "parameters": {
        "value_g_dl": 1.0,
        "baseline_g_dl": 2.4,
        "category": "PR",
        "immunofixation_only": False,
    },
    "source": "Kumar S, et al. Lancet Oncol 2016;17:e328",
}
CONFIRMATION = {
    "code": "confirmation",
    "parameters": {
        "kind": "response",
        "confirmed": False,
        "next_assessment_date": None,
        "next_category": None,
    },
    "source": "Kumar S, et al. Lancet Oncol 2016;17:e328",
}


def _reasons(api, study):
    from mmtrial.edc.models import ResponseAssessment
    from mmtrial.edc.services.labs import lab_result_record

    day_28 = study["cycle"].start_date + dt.timedelta(days=27)
    lab_result_record(
        user=study["a"].coordinator,
        participant_id=study["participant"].pk,
        analyte="serum_m_protein",
        value="1.0",
        unit="g/dL",
        collected_on=day_28,
        source="central",
        accession="C-28",
    )
    row = ResponseAssessment.objects.get(participant=study["participant"], assessment_date=day_28)
    answer = api.get(f"responses/{row.pk}")
    assert answer.status_code == 200, answer.content
    assert answer.json()["derived_response"] == "PR"
    return answer.json()["reasons"]


def test_response_reasons_are_codes_with_parameters_and_english_text(api_as, study):
    reasons = _reasons(api_as("monitor"), study)
    assert reasons == [
        {
            **SERUM,
            "text": "serum M-protein 1 g/dL is 58% below baseline 2.4 g/dL (PR needs >= 50%)",
        },
        {**CONFIRMATION, "text": "not confirmed: no later evaluable assessment"},
    ]


def test_response_reasons_are_worded_in_japanese_when_asked(api_as, study):
    reasons = _reasons(api_as("monitor", language="ja"), study)
    assert [r["code"] for r in reasons] == ["serum", "confirmation"]
    assert reasons[0]["parameters"] == SERUM["parameters"]
    assert [r["text"] for r in reasons] == [
        "血清M蛋白 1 g/dLはベースライン 2.4 g/dLから58%減少（PRには50%以上の減少が必要）",
        "未確定：以降に評価可能な判定なし",
    ]
