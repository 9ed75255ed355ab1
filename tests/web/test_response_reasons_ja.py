"""A participant's IMWG reasons read in the page's language, numbers and codes unchanged
(issue 12 item 2)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.web.flow import C1D1, enter_labs, treated

pytestmark = pytest.mark.django_db


def _reasons(body: str) -> list[str]:
    table = re.search(r'data-testid="response-table".*?</table>', body, re.S).group(0)
    cell = re.search(r'<ul class="reasons">(.*?)</ul>', table, re.S).group(1)
    return re.findall(r"<li>(.*?)</li>", cell, re.S)


@pytest.fixture
def partial_response(login, users, sites):
    """Serum M-protein 2.4 g/dL at C1D1, 0.9 g/dL four weeks later: 62.5% below baseline,
    a PR (IMWG 2016: PR >= 50% reduction; VGPR would need >= 90%), the only assessment so far."""
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    enter_labs(client, pk, C1D1 + dt.timedelta(days=28), accession="ACC-1", serum_m_protein="0.9")
    return client, pk


def test_a_japanese_page_words_the_pr_in_japanese_with_the_numbers(partial_response):
    client, pk = partial_response
    client.cookies["django_language"] = "ja"
    reasons = _reasons(client.get(f"/participants/{pk}/").content.decode())
    assert reasons == [
        "血清M蛋白 0.9 g/dLはベースライン 2.4 g/dLから62%減少（PRには50%以上の減少が必要）",
        "未確定：以降に評価可能な判定なし",
    ]


def test_an_english_page_shows_the_engines_english(partial_response):
    client, pk = partial_response
    client.cookies["django_language"] = "en"
    reasons = _reasons(client.get(f"/participants/{pk}/").content.decode())
    assert reasons == [
        "serum M-protein 0.9 g/dL is 62% below baseline 2.4 g/dL (PR needs &gt;= 50%)",
        "not confirmed: no later evaluable assessment",
    ]
