"""Every form control on the main pages has a label, pages have landmarks and one h1."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.web.flow import treated

pytestmark = pytest.mark.django_db


class Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.tags: list[str] = []
        self.h1 = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        if tag == "h1":
            self.h1 += 1
        if tag == "label" and attributes.get("for"):
            self.label_for.add(attributes["for"])
        if tag in ("input", "select", "textarea"):
            kind = attributes.get("type", "text")
            if kind not in ("hidden", "submit", "button"):
                self.controls.append(attributes)


def _check(body: str, url: str, landmarks=("header", "nav", "main", "footer")) -> None:
    parser = Controls()
    parser.feed(body)
    unlabelled = [
        c.get("name")
        for c in parser.controls
        if c.get("id") not in parser.label_for and not c.get("aria-label")
    ]
    assert unlabelled == [], f"{url}: inputs without a label: {unlabelled}"
    for landmark in landmarks:
        assert landmark in parser.tags, f"{url}: no <{landmark}>"
    assert parser.h1 == 1, f"{url}: {parser.h1} h1 headings"


def test_every_control_has_a_label_and_pages_have_landmarks(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    urls = [
        "/",
        "/participants/",
        "/participants/new/",
        f"/participants/{pk}/",
        f"/participants/{pk}/screening/",
        f"/participants/{pk}/entry/",
        f"/participants/{pk}/labs/new/",
        f"/participants/{pk}/cycles/new/",
        f"/participants/{pk}/cycles/1/doses/",
        f"/participants/{pk}/adverse-events/new/",
        f"/participants/{pk}/disease/new/",
        f"/participants/{pk}/end-of-treatment/",
        f"/participants/{pk}/follow-up/new/",
        f"/participants/{pk}/death/",
        f"/participants/{pk}/sign-lock/",
        f"/participants/{pk}/audit/",
        "/queries/",
        "/worklist/",
        "/worklist/?view=month",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        _check(response.content.decode(), url)
    client.force_login(users["data_manager"])
    _check(client.get(f"/participants/{pk}/").content.decode(), "timeline as data manager")
    client.logout()
    _check(client.get("/login/").content.decode(), "/login/", ("header", "main", "footer"))
