"""A real browser opens the home page, lands on the login page and sees the protocol."""

import pytest

from mmtrial.protocol import load_protocol

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_home_page_in_chromium_shows_protocol_version(live_server, page):
    page.goto(live_server.url + "/")
    ident = load_protocol().identification
    assert "/login/" in page.url
    assert page.get_by_role("heading", level=1).inner_text() == ident.title
    assert page.get_by_test_id("protocol-version").inner_text() == ident.version
