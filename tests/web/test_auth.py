"""Logging in and out, the language switch, and times shown in the site's time zone."""

from __future__ import annotations

import pytest

from tests.web.conftest import PASSWORD


def test_login_with_right_password_reaches_the_dashboard(client, users):
    response = client.post("/login/", {"username": "coord_a", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "Hanako Sato" in response.content.decode()


def test_wrong_password_shows_a_plain_message_and_keeps_the_user_out(client, users):
    response = client.post("/login/", {"username": "coord_a", "password": "nope"})
    assert response.status_code == 200
    assert "user name or password is not right" in response.content.decode()
    assert client.get("/").status_code == 302


@pytest.mark.req("P11-300d")
def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, users):
    for _ in range(5):
        client.post("/login/", {"username": "coord_a", "password": "wrong password"})
    response = client.post("/login/", {"username": "coord_a", "password": PASSWORD})
    assert response.status_code in (403, 429)
    assert "Account locked" in response.content.decode()
    assert client.get("/").status_code == 302


def test_logout_is_a_post_and_ends_the_session(client, users):
    client.force_login(users["coordinator"])
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_login_page_can_be_read_in_japanese(client, db):
    client.post("/i18n/setlang/", {"language": "ja", "next": "/login/"})
    body = client.get("/login/").content.decode()
    assert 'lang="ja"' in body
    assert "ログイン" in body


def test_dates_on_pages_are_iso_in_japanese_too(client, users):
    from mmtrial.protocol import load_protocol

    client.force_login(users["coordinator"])
    client.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    body = client.get("/").content.decode()
    assert load_protocol().identification.effective_date.isoformat() in body


def test_times_are_shown_in_the_site_time_zone(client, users):
    client.force_login(users["coordinator"])
    body = client.get("/").content.decode()
    assert "Asia/Tokyo" in body


@pytest.mark.req("P11-300b")
def test_a_password_set_by_an_administrator_must_be_changed_first(client, users):
    user = users["coordinator"]
    user.password_changed_at = None
    user.save(update_fields=["password_changed_at"])
    client.force_login(user)
    for url in ("/", "/participants/", "/queries/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url == "/password/", url
    page = client.get("/password/").content.decode()
    assert "set by an administrator" in page
    refused = client.post(
        "/password/",
        {
            "old_password": "wrong",
            "new_password": "a new long phrase 7",
            "new_password_again": "a new long phrase 7",
        },
    )
    assert refused.status_code == 400
    assert "current password is not correct" in refused.content.decode()
    weak = client.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password": "password123",
            "new_password_again": "password123",
        },
    )
    assert weak.status_code == 400
    done = client.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password": "a new long phrase 7",
            "new_password_again": "a new long phrase 7",
        },
    )
    assert done.status_code == 302
    assert client.get("/").status_code == 200  # the session survives the change


def test_a_user_who_prefers_japanese_gets_japanese_pages_after_login(client, users):
    user = users["coordinator"]
    user.preferred_language = "ja"
    user.save(update_fields=["preferred_language"])
    response = client.post("/login/", {"username": "coord_a", "password": PASSWORD}, follow=True)
    assert 'lang="ja"' in response.content.decode()
    assert "ダッシュボード" in response.content.decode()


def test_a_language_chosen_in_the_browser_wins_over_the_preference(client, users):
    user = users["coordinator"]
    user.preferred_language = "ja"
    user.save(update_fields=["preferred_language"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    response = client.post("/login/", {"username": "coord_a", "password": PASSWORD}, follow=True)
    assert 'lang="en"' in response.content.decode()
