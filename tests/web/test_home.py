"""The home page is the dashboard for people who are logged in; the login page shows the
loaded protocol's title and version to everyone."""

import pytest

from mmtrial.protocol import load_protocol


@pytest.mark.django_db
def test_home_page_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@pytest.mark.django_db
def test_login_page_shows_protocol_title_and_version(client):
    response = client.get("/", follow=True)
    ident = load_protocol().identification
    assert response.status_code == 200
    body = response.content.decode()
    assert ident.title in body
    assert ident.version in body


def test_home_page_of_a_logged_in_user_shows_protocol_title_and_version(client, users):
    client.force_login(users["coordinator"])
    response = client.get("/")
    ident = load_protocol().identification
    assert response.status_code == 200
    body = response.content.decode()
    assert ident.title in body
    assert ident.version in body


@pytest.mark.django_db
def test_database_is_migrated_with_the_edc_app(django_db_setup):
    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder.Migration.objects.filter(app="edc").values_list("name", flat=True)
    assert "0001_initial" in set(applied)
