"""Log in and log out. Lockout (django-axes) and the audit of logins live elsewhere."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from mmtrial.web.middleware import SESSION_TIMEZONE_KEY


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _(
            "The user name or password is not right. Both are case-sensitive; after 5 wrong "
            "attempts the account is locked."
        ),
        "inactive": _("This account is not active. Ask the study's data manager."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("User name")
        self.fields["password"].label = _("Password")
        self.fields["username"].widget.attrs["autocomplete"] = "username"


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        # The site time zone is looked up again for the new user of this browser.
        self.request.session.pop(SESSION_TIMEZONE_KEY, None)
        return response


class LogoutView(auth_views.LogoutView):
    next_page = "login"
