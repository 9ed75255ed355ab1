"""The login page and the main navigation work with the keyboard alone."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def test_a_coordinator_logs_in_and_navigates_with_the_keyboard(live_server, page):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from mmtrial.edc.models import Membership, Site, User

    site = Site.objects.create(code="JP01", name="Tokyo", timezone="Asia/Tokyo")
    user = User.objects.create(
        username="coord",
        password=make_password(PASSWORD),
        full_name="Hanako Sato",
        password_changed_at=timezone.now(),
    )
    Membership.objects.create(user=user, site=site, role="coordinator")

    page.goto(live_server.url + "/login/")
    page.locator("[name=username]").focus()
    page.keyboard.type("coord")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/")
    # The first Tab reaches the skip link, which moves focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Tab through the header to the participant list and open it with Enter.
    page.goto(live_server.url + "/")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "/participants/":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/participants/")
