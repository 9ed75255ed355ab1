"""Log in and log out. Lockout (django-axes) and the audit of logins live elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mmtrial.edc.passwords import password_expired
from mmtrial.edc.services.users import password_must_change, user_password_change
from mmtrial.web.errors import run_service
from mmtrial.web.forms import PasswordChangeForm
from mmtrial.web.middleware import SESSION_PASSWORD_EXPIRED_KEY, SESSION_TIMEZONE_KEY


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
        if password_expired(form.get_user()):
            # Older than the sponsor administrator's maximum age: changed before anything else.
            self.request.session[SESSION_PASSWORD_EXPIRED_KEY] = True
        # A language chosen in this browser wins; otherwise the user's own preference applies.
        preferred = getattr(form.get_user(), "preferred_language", "")
        languages = {code for code, _name in settings.LANGUAGES}
        if settings.LANGUAGE_COOKIE_NAME not in self.request.COOKIES and preferred in languages:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                preferred,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            )
        return response


class LogoutView(auth_views.LogoutView):
    next_page = "login"


def password_change(request):
    """The owner chooses a new password (required after an administrator set one, or when it
    expired). A wrong current password counts toward the lockout like a wrong login; the
    attempt that locks the account also ends this session."""
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = run_service(
            form,
            lambda: user_password_change(
                user=request.user,
                old_password=data["old_password"],
                new_password=data["new_password"],
                request=request,
            ),
            refusals_on_form=True,
            atomic=False,  # the failed attempt is kept (the service makes the change atomic)
        )
        if getattr(request, "axes_locked_out", False):
            logout(request)  # django-axes answers with its lockout page
            return redirect("login")
        if user is not None:
            update_session_auth_hash(request, user)
            request.session.pop(SESSION_PASSWORD_EXPIRED_KEY, None)
            messages.success(request, gettext("Your password is changed."))
            return redirect("home")
    context = {
        "form": form,
        "must_change": password_must_change(request.user),
        "expired": bool(request.session.get(SESSION_PASSWORD_EXPIRED_KEY)),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "web/password_change.html", context, status=status)
