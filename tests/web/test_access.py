"""Who may reach which page: login on every URL, CSRF on every POST, no framing.

Compliance P11-10d (only logged-in users reach pages), E6-4.3.3b-CSRF.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from mmtrial.web.middleware import API_PREFIX, PUBLIC_URL_NAMES

# The REST API is its own door (mmtrial.api.auth): a bearer token, not the session. Its
# document and docs page are open (they hold no study data); everything else answers 401.
API_OPEN_URL_NAMES = frozenset({"openapi-json", "openapi-view"})

SAMPLE = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def _concrete(route: str) -> str | None:
    """A URL for a route, with sample values for its parameters (None for regex routes)."""
    if route.startswith("^") or "(?P" in route:
        route = route.lstrip("^").rstrip("$")
        if re.search(r"[\\()\[\]?*+]", route):
            return None
    url = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "x"), route)
    return "/" + url


def all_urls():
    seen = {}
    for route, name in _walk(get_resolver().url_patterns):
        url = _concrete(route)
        if url is not None and url not in seen:
            seen[url] = name
    return sorted(seen.items())


ALL_URLS = all_urls()


def test_the_walk_finds_the_pages():
    names = {name for _url, name in ALL_URLS}
    assert {"home", "login", "participant_list"} <= names


@pytest.mark.req("P11-10d")
@pytest.mark.django_db
@pytest.mark.parametrize(("url", "name"), ALL_URLS)
def test_anonymous_visitor_is_sent_to_login_except_on_the_allow_list(client, url, name):
    response = client.get(url)
    if url.startswith(API_PREFIX):
        if name in API_OPEN_URL_NAMES:
            assert response.status_code == 200, url
            return
        if response.status_code == 404:
            pytest.skip(f"{url} does not resolve with sample values")
        assert response.status_code in (401, 405), url  # 405: a route that only writes
        if response.status_code == 401:
            assert response["Content-Type"] == "application/problem+json", url
        return
    if name in PUBLIC_URL_NAMES:
        assert response.status_code in (200, 302)
        if response.status_code == 302:
            assert not response.url.startswith("/login/?next=")
        return
    if response.status_code == 404:
        pytest.skip(f"{url} does not resolve with sample values")
    assert response.status_code == 302, url
    assert response.url.startswith("/login/?next="), response.url


@pytest.mark.req("P11-10d")
@pytest.mark.django_db
@pytest.mark.parametrize(("url", "name"), [u for u in ALL_URLS if u[1] not in PUBLIC_URL_NAMES])
def test_anonymous_post_is_refused_everywhere(client, url, name):
    response = client.post(url, {"anything": "1"})
    if url.startswith(API_PREFIX):
        if name in API_OPEN_URL_NAMES:  # the published document: nothing to write
            assert response.status_code in (200, 405), url
            return
        assert response.status_code in (401, 404, 405), url  # no token: nothing is written
        return
    assert response.status_code in (302, 403, 404, 405)
    if response.status_code == 302:
        assert response.url.startswith("/login/?next=")


@pytest.mark.req("E6-4.3.3b-CSRF")
def test_pages_cannot_be_framed(client, users):
    client.force_login(users["coordinator"])
    for url in ("/", "/participants/", "/login/"):
        assert client.get(url)["X-Frame-Options"] == "DENY"


@pytest.mark.req("E6-4.3.3b-CSRF")
@pytest.mark.django_db
def test_login_post_without_csrf_token_is_refused():
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403


def test_inactive_user_session_is_refused_on_the_next_request(client, users):
    user = users["coordinator"]
    client.force_login(user)
    assert client.get("/").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@pytest.mark.req("E6-4.3.3b-CSRF")
@pytest.mark.django_db
def test_every_post_without_a_csrf_token_is_refused(users):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(users["coordinator"])
    for url, _name in ALL_URLS:
        response = csrf_client.post(url, {"anything": "1"})
        if url.startswith(API_PREFIX):
            # The API ignores the session cookie a forged cross-site request would carry:
            # without a bearer token it is refused.
            assert response.status_code in (401, 403, 404, 405) or _name in API_OPEN_URL_NAMES, (
                url,
                response.status_code,
            )
            continue
        assert response.status_code == 403, (url, response.status_code)
