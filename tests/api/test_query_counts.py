"""The API's reads cost a fixed number of queries whatever the number of rows (house rule:
selectors with bounded query counts): a page of any list, a record, the timeline."""

from __future__ import annotations

import pytest

from mmtrial.edc.services.labs import lab_result_record
from tests.edc.builders import Study  # noqa: F401 - the study clock (tests/study_clock.py)

pytestmark = pytest.mark.django_db

# token check (token + user, lockout, password policy), rate limit (cache), the audit cursor,
# the page itself, and the role matrix's memberships
LIST_QUERIES = 8


def _more_labs(study, n: int) -> None:
    for i in range(n):
        lab_result_record(
            user=study["users"]["coordinator"],
            participant_id=study["participant"].pk,
            analyte="creatinine",
            value=f"1.{i}",
            unit="mg/dL",
            collected_on=study["cycle"].start_date,
        )


@pytest.mark.parametrize(
    "path",
    [
        "participants",
        "lab-results",
        "visits",
        "doses",
        "adverse-events",
        "responses",
        "queries",
        "signatures",
        "audit-events",
    ],
)
def test_a_page_costs_the_same_queries_with_more_rows(
    api_as, study, path, django_assert_max_num_queries
):
    api = api_as("data_manager")
    api.get(path)  # warm: the protocol file and the message catalogue are read once
    with django_assert_max_num_queries(LIST_QUERIES):
        assert api.get(path, limit=1000).status_code == 200
    _more_labs(study, 15)
    with django_assert_max_num_queries(LIST_QUERIES):
        assert api.get(path, limit=1000).status_code == 200


def test_the_timeline_costs_a_fixed_number_of_queries(api_as, study, django_assert_max_num_queries):
    api = api_as("coordinator")
    url = f"participants/{study['participant'].pk}/timeline"
    api.get(url)
    with django_assert_max_num_queries(20) as before:
        assert api.get(url).status_code == 200
    _more_labs(study, 15)
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert api.get(url).status_code == 200
