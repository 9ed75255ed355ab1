"""The worklist and the cycle's dose form in Japanese (issue 12 items 4-5)."""

from __future__ import annotations

import pytest

from tests.web.flow import treated

pytestmark = pytest.mark.django_db


def test_the_worklist_and_the_dose_form_read_in_japanese(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    client.cookies["django_language"] = "ja"
    page = client.get("/worklist/?view=month").content.decode()
    for words in ("ワークリスト", "期限超過", "今週", "来週", "印刷用PDF", "許容範囲"):
        assert words in page, words
    assert "Overdue by" not in page and "Nothing due" not in page
    page = client.get(f"/participants/{pk}/cycles/1/doses/").content.decode()
    for words in ("未記録", "投与記録を保存"):
        assert words in page, words
    assert "Not recorded" not in page and "Save the doses" not in page
