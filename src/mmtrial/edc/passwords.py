"""Password policy beyond Django's validators: no reuse of recent passwords, and expiry.

21 CFR 11.300(b): passwords are checked and revised periodically. The user services record each
password hash they set (`password_history_record`); `PasswordHistoryValidator` (in
AUTH_PASSWORD_VALIDATORS) refuses any of the last `MMTRIAL_PASSWORD_HISTORY` (5). The maximum age
is the sponsor administrator's setting (`SecurityPolicy`, changed only through
`services.users.password_max_age_set`, audited); an expired password must be changed at login.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from mmtrial.edc.models import PasswordHistory, SecurityPolicy, User

PASSWORD_REUSED = "It is one of your last {count} passwords: choose one you have not used before."


def _history_length() -> int:
    return int(getattr(settings, "MMTRIAL_PASSWORD_HISTORY", 5))


def recent_password_hashes(user: User, count: int) -> list[str]:
    """The hashes of the user's last `count` passwords, newest first (the current one included)."""
    current = User.objects.filter(pk=user.pk).values_list("password", flat=True).first()
    older = PasswordHistory.objects.filter(user_id=user.pk).order_by("-set_at", "-id")
    hashes: list[str] = []
    for encoded in [current, *older.values_list("password", flat=True)[:count]]:
        if encoded and not encoded.startswith("!") and encoded not in hashes:
            hashes.append(encoded)
    return hashes[:count]


class PasswordHistoryValidator:
    """Refuse a password the user had among their last N (N = MMTRIAL_PASSWORD_HISTORY)."""

    def __init__(self, history: int | None = None) -> None:
        self.history = history

    def _count(self) -> int:
        return self.history or _history_length()

    def validate(self, password: str, user: User | None = None) -> None:
        if user is None or not getattr(user, "pk", None):
            return  # a new account has no history
        for encoded in recent_password_hashes(user, self._count()):
            if check_password(password, encoded):
                # Shown inside the services' "not accepted" message, in the user's language
                # like Django's own validators' texts.
                raise ValidationError(
                    gettext(PASSWORD_REUSED).format(count=self._count()), code="password_reused"
                )

    def get_help_text(self) -> str:
        return f"Your password cannot be one of your last {self._count()} passwords."


def password_history_record(user: User, *, at: dt.datetime) -> PasswordHistory:
    """Keep the hash just set on `user` (called by the services in their transaction)."""
    return PasswordHistory.objects.create(user=user, password=user.password, set_at=at)


def security_policy() -> SecurityPolicy:
    """The study's security settings (defaults until the sponsor administrator sets them)."""
    return SecurityPolicy.objects.filter(pk=1).first() or SecurityPolicy(pk=1)


def password_expired(user: User, *, now: dt.datetime | None = None) -> bool:
    """True when the password is older than the maximum age the sponsor administrator set."""
    days = security_policy().password_max_age_days
    if not days or user.password_changed_at is None:
        return False  # no expiry set, or already due for change (set by someone else)
    return user.password_changed_at + dt.timedelta(days=days) <= (now or timezone.now())
