"""Passwords and command-line credentials: history, expiry policy, per-user CLI tokens."""

from django.conf import settings
from django.db import models


class PasswordHistory(models.Model):
    """A password hash a user has had (21 CFR 11.300(b)): the last ones may not be chosen again.

    Written by the user services whenever a password is set or changed; only hashes are kept.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="password_history"
    )
    password = models.CharField(max_length=128, help_text="the hash, as in User.password")
    set_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "-set_at"])]


class SecurityPolicy(models.Model):
    """The study's security settings that the sponsor administrator sets (one row, audited)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    password_max_age_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="a password older than this must be changed; empty: never"
    )


class CommandLineToken(models.Model):
    """A secret that lets one person use the command line without typing a password (cron).

    Only the SHA-256 of the secret is stored; the secret lives in a file readable only by the
    operating-system account it was issued to (`os_account`), which is checked on use.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cli_tokens"
    )
    secret_sha256 = models.CharField(max_length=64, unique=True)
    os_account = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)


class ApiTokenScope(models.TextChoices):
    READ = "read", "Read"
    READ_WRITE = "read_write", "Read and write"


class ApiToken(models.Model):
    """A user's secret for the REST API (`/api/v1/`), created and revoked by that user.

    Only the SHA-256 of the secret is stored (the secret is a random 256-bit value, shown once);
    the token's id is part of the secret's text, so a wrong secret for a real token counts as
    a failed sign-in of its owner (the lockout rules of the web login). `scope` read refuses
    every write. Every write made with it names the user and the token in the audit trail.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="what the token is for, e.g. 'nightly sync'")
    secret_sha256 = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=12, choices=ApiTokenScope.choices)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]
