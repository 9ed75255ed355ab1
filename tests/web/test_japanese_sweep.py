"""Every page of the demo study, in Japanese, for every demo role, reads in Japanese (issue 12
item 2): no text of a template, label, message or engine is left in English.

The demo is seeded once for the module (rolled back at the end); each demo person then opens
every page of mmtrial.web.urls (tests/web/sweep_pages.py) with the language set to Japanese,
and each visible line that reads as English (tests/web/sweep_text.py) is reported with the
page and the role. The allow-list is the issue's: codes, units, drug brand names, the demo's
people, subject ids and ISO dates.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field

import pypdf
import pytest
from django.db import transaction
from django.test import Client, override_settings

from mmtrial.sim.archetypes import SITES
from mmtrial.sim.demo import demo_users, seed_demo_study
from tests.web import sweep_pages
from tests.web.sweep_text import english_lines, reads_as_english, visible_lines

pytestmark = pytest.mark.django_db

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Every demo person who works in the web interface (the SMO coordinator sees the other sites).
ROLES = (
    "coordinator.JP-01",
    "investigator.JP-01",
    "monitor",
    "data_manager",
    "statistician",
    "sponsor_admin",
    "coordinator.others",
)
# Pages nobody may see: the 404 page (a participant that does not exist, a URL of no page).
MISSING = ("/participants/0/", "/no-such-page/")
JAPANESE = "ja"


def demo_words() -> frozenset[str]:
    """The demo's own names (people, user names, sites' English names): data, not UI text."""
    words = set()
    for person in demo_users():
        words.update(person.full_name.lower().replace("(", " ").replace(")", " ").split())
        words.update(person.username.lower().split("."))
    for site in SITES:
        words.update(site.name.lower().split())
    return frozenset(w for w in words if w.isascii())


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo study, seeded once, plus one API token per person (the token list and its
    revoke link are pages too); everything is rolled back after the module."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHER),
        transaction.atomic(),
    ):
        seed_demo_study(stdout=io.StringIO())
        people = _people_with_tokens()
        yield people
        transaction.set_rollback(True)


def _people_with_tokens() -> dict:
    from mmtrial.edc.api_tokens import api_token_create
    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.models import User

    people = {}
    for person in demo_users():
        user = User.objects.get(username=person.username)
        with audit_actor(user, via="test"):
            api_token_create(user=user, name="夜間の同期", scope="read")
        people[person.key] = user
    return people


@dataclass
class Page:
    role: str
    name: str
    url: str
    status: int
    lines: list[str]
    english: list[str] = field(default_factory=list)


def _lines(response) -> list[str]:
    kind = response.get("Content-Type", "")
    if kind.startswith("application/pdf"):
        reader = pypdf.PdfReader(io.BytesIO(response.content))
        return [
            " ".join(line.split())
            for page in reader.pages
            for line in (page.extract_text() or "").splitlines()
            if line.strip()
        ]
    if not kind.startswith("text/html"):
        return []
    return visible_lines(response.content.decode())


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    client.cookies["django_language"] = JAPANESE
    return client


@pytest.fixture(scope="module")
def sweep(demo) -> list[Page]:
    return open_every_page(demo)


def open_every_page(people: dict) -> list[Page]:
    """Every page for every role, opened once in Japanese."""
    allowed = demo_words()
    pages = []

    def visit(client, role, name, url):
        response = client.get(url)
        lines = _lines(response)
        english = [line for line in dict.fromkeys(lines) if reads_as_english(line, allowed=allowed)]
        pages.append(Page(role, name, url, response.status_code, lines, english))

    anonymous = _client()
    for name in sorted(sweep_pages.PUBLIC_PAGES):
        visit(anonymous, "anonymous", name, sweep_pages.reverse(name))
    for role in ROLES:
        client = _client(people[role])
        for name, url in sweep_pages.pages_for(people[role]):
            visit(client, role, name, url)
        for url in MISSING:
            visit(client, role, "404", url)
    return pages


def test_every_url_pattern_is_swept_or_left_out_with_a_reason():
    unresolved = sweep_pages.unresolved_patterns()
    assert unresolved == [], (
        "URL patterns the Japanese sweep does not know how to open: add a resolver for their "
        f"parameters in tests/web/sweep_pages.py (RESOLVERS), or a reason in NOT_PAGES: {unresolved}"
    )


def test_every_pattern_is_shown_to_at_least_one_role_with_text(sweep):
    """A resolver that finds no demo record would skip its page silently."""
    shown = defaultdict(set)
    for page in sweep:
        shown[page.name].add(page.status)
    never = sorted(set(sweep_pages.RESOLVERS) - set(shown))
    assert never == [], f"no demo record to open these pages with: {never}"
    rendered = {page.name for page in sweep if page.status == 200 and page.lines}
    # POST-only actions (sign, lock, revoke, resolve, log out) answer a GET with 405 and no text;
    # the language switch redirects. Every other page is shown with its text to some role.
    silent = sorted(set(shown) - rendered - sweep_pages.ACTIONS - {"404"})
    assert silent == [], {name: sorted(shown[name]) for name in silent}


def test_the_error_pages_are_part_of_the_sweep(sweep):
    statuses = {page.status for page in sweep}
    assert {403, 404} <= statuses
    not_found = next(page for page in sweep if page.status == 404)
    assert "ページが見つかりません" in not_found.lines


def test_every_page_of_the_demo_reads_in_japanese(sweep):
    found: dict[str, list[str]] = {}
    for page in sweep:
        for line in page.english:
            found.setdefault(line, []).append(f"{page.url} ({page.role})")
    report = [
        f"{line!r}\n    on {where[0]}" + (f" and {len(where) - 1} more" if len(where) > 1 else "")
        for line, where in found.items()
    ]
    assert not report, f"{len(report)} English lines on the Japanese pages:\n" + "\n".join(report)


@pytest.mark.parametrize(
    "line",
    [
        "Save the doses",  # web/entry/doses.html
        "Overdue by 3 days",
        "Not recorded (dose held)",
        "投与記録を保存 Save changes",
    ],
)
def test_english_text_is_flagged(line):
    assert reads_as_english(line)


@pytest.mark.parametrize(
    "line",
    [
        "投与記録を保存",
        "レナリドミド 15 mg（減量）",
        "IMWG 2016: VGPR",
        "CrCl 52 mL/min（Cockcroft-Gault）",
        "JP01-001 2026-12-07",
        "CTCAE grade 3",  # one English word beside a code: not a phrase
        "Hanako Yamada",
    ],
)
def test_japanese_codes_units_and_names_are_not_flagged(line):
    assert not reads_as_english(line, allowed=frozenset({"hanako", "yamada"}))


def test_the_visible_text_leaves_out_scripts_and_attributes_but_keeps_what_is_shown():
    html = (
        '<p class="not shown">保存 <strong>しました</strong></p><script>var shown = "no";</script>'
        '<input type="submit" value="Save the doses"><span title="Due soon here">期限</span>'
    )
    assert visible_lines(html) == ["保存 しました", "Save the doses", "Due soon here", "期限"]
    assert english_lines(html) == ["Save the doses", "Due soon here"]
