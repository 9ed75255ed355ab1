"""Two clients change one lab value at the same time with the same If-Match, over HTTP, each in
its own thread, connection and transaction (as two server workers would): one wins, the other
gets 412 with the current version, and the winner's value is the one stored (no lost update).
PostgreSQL only: SQLite serialises writers on one file lock."""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connections
from django.test import Client

from tests.api.conftest import Api, token_for
from tests.edc.builders import Study  # noqa: F401 - the study clock (tests/study_clock.py)

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs PostgreSQL (make test-postgres)",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_simultaneous_updates_with_one_etag_one_wins_the_other_is_412(study):
    lab = study["lab"]
    tokens = [token_for(study["users"]["coordinator"]), token_for(study["users"]["investigator"])]
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def change(index: int, value: str) -> None:
        try:
            api = Api(Client(), tokens[index])
            barrier.wait(timeout=10)
            answers[index] = api.patch(
                f"lab-results/{lab.pk}",
                {"value": value, "reason": "correction"},
                {"If-Match": f'"{lab.version}"'},
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=change, args=(i, v)) for i, v in ((0, "1.2"), (1, "1.3"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 412], [a.content for a in answers]
    winner = next(a for a in answers if a.status_code == 200).json()
    loser = next(a for a in answers if a.status_code == 412).json()
    assert loser["parameters"]["current_version"] == 2
    lab.refresh_from_db()
    assert lab.version == 2 and lab.reported_value == winner["reported_value"]
