"""People and their roles: create, grant, revoke, deactivate, verify identity, passwords.

Every step is a security-log audit event (E6 4.2.2(a)(i); 21 CFR 11.300). User names are
unique without regard to case and never reused or renamed (11.100(a)); users are deactivated,
never deleted. A password set by someone else must be changed by its owner at next login:
`password_changed_at` stays empty until the owner changes it (`password_must_change`); so must
a password older than the sponsor administrator's maximum age (`password_max_age_set`). Every
password set is kept as a hash (`passwords.PasswordHistoryValidator`: no reuse of the last 5).
Management needs MANAGE_USERS (all-site roles need it at every site). The command line acts as
an authenticated user; `SYSTEM_OPERATOR` (the shell, unauthenticated) remains for the demo
seeding, and the very first account is `user_bootstrap_sponsor_admin`.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from mmtrial.edc.audit import Actor, EventSpec, audit_record, audit_record_many, lock_chain_head
from mmtrial.edc.models import Membership, SecurityPolicy, Site, User
from mmtrial.edc.models.people import Role
from mmtrial.edc.passwords import password_expired, password_history_record
from mmtrial.edc.permissions import ALL_SITES, Action, sites_allowed
from mmtrial.edc.security import authentication_request
from mmtrial.edc.services._acting import SYSTEM_OPERATOR, actor_for
from mmtrial.edc.services.sites import authorize_admin
from mmtrial.errors import InputError, NotFound, PermissionDenied

USERNAME_TAKEN = (
    "The user name '{username}' is taken (user names are never reused, whatever their case)."
)
USERNAME_INVALID = "User name '{username}': {problem}"
FULL_NAME_REQUIRED = "The full name is required: it is printed on the user's signatures."
ROLE_INVALID = "Unknown role '{role}'; choose one of: {choices}."
ROLE_ALREADY_GRANTED = "{username} already has the role {role} {where}."
ROLE_NOT_GRANTED = "{username} does not have the role {role} {where}."
ALL_SITES_NEEDS_ALL_SITES = "Only an administrator for every site can grant an all-site role."
PASSWORD_REJECTED = "The password is not accepted: {problems}"
PASSWORD_OLD_WRONG = "Your current password is not correct."
PASSWORD_SAME = "The new password must differ from the current one."
SELF_VERIFICATION = "You cannot verify your own identity; another administrator must do it."
VERIFIER_NEEDED = "Identity must be verified by a named user, not by the server operator."
SELF_DEACTIVATION = "You cannot deactivate your own account."
ALREADY_INACTIVE = "{username} is already deactivated."
USER_NOT_FOUND = "There is no user '{username}'."
REASON_REQUIRED = "Give a reason: the audit trail keeps it."
PASSWORD_LOCKED_OUT = (
    "Your account is locked after repeated wrong passwords; an administrator must unlock it."
)
BOOTSTRAP_NOT_EMPTY = (
    "The study database has accounts already: only a sponsor administrator can add one "
    "(name yourself with --by and authenticate)."
)
POLICY_NEEDS_USER = "The security settings are changed by a named sponsor administrator."
MAX_AGE_INVALID = (
    "A password's maximum age must be between {low} and {high} days (or none); got {days}."
)
MAX_AGE_UNCHANGED = "The password's maximum age is already {days}."
MAX_AGE_DAYS_RANGE = (1, 3650)


def _where(site: Site | None) -> str:
    return f"at site {site.code}" if site is not None else "at all sites"


def _authorize_manage(actor, site: Site | None) -> None:
    authorize_admin(actor, Action.MANAGE_USERS, site.pk if site is not None else None)
    if (
        site is None
        and actor is not SYSTEM_OPERATOR
        and sites_allowed(actor, Action.MANAGE_USERS) is not ALL_SITES
    ):
        raise PermissionDenied(ALL_SITES_NEEDS_ALL_SITES, {"field": "site"})


def _authorize_manage_user(actor, user: User) -> None:
    """Managing an existing account: needs MANAGE_USERS at every site the user works at."""
    sites = list(Membership.objects.filter(user=user).values_list("site_id", flat=True))
    if actor is SYSTEM_OPERATOR:
        return
    if not sites or None in sites:
        _authorize_manage(actor, None)
    for site_id in set(sites) - {None}:
        authorize_admin(actor, Action.MANAGE_USERS, site_id)


def _role(role: str) -> str:
    if role not in Role.values:
        raise InputError.coded(
            ROLE_INVALID, {"field": "role"}, role=role, choices=", ".join(Role.values)
        )
    return role


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InputError.coded(
            PASSWORD_REJECTED, {"field": "password"}, problems=" ".join(exc.messages)
        ) from None


def _event(action: str, user: User, *, site: Site | None = None, changes=None, reason="", **ctx):
    return EventSpec(
        action=action,
        model="user",
        object_pk=str(user.pk),
        site_code=site.code if site is not None else "",
        changes=changes or {},
        reason=reason,
        context={"target_username": user.username, **ctx},
    )


def user_get_by_username(*, username: str) -> User:
    user = User.objects.filter(username__iexact=(username or "").strip()).first()
    if user is None:
        raise NotFound.coded(USER_NOT_FOUND, {"field": "username"}, username=username)
    return user


def password_must_change(user: User) -> bool:
    """True until the owner has chosen their own password (set by an admin, or never changed)."""
    return user.password_changed_at is None


def _new_user(*, username: str, full_name: str, email: str, password: str) -> User:
    """A checked, unsaved account with its password set (the caller saves it)."""
    username = (username or "").strip()
    full_name = (full_name or "").strip()
    if not full_name:
        raise InputError(FULL_NAME_REQUIRED, {"field": "full_name"})
    if User.objects.filter(username__iexact=username).exists():
        raise InputError.coded(USERNAME_TAKEN, {"field": "username"}, username=username)
    user = User(username=username, full_name=full_name, email=(email or "").strip())
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        field, problems = next(iter(exc.message_dict.items()))
        raise InputError.coded(
            USERNAME_INVALID, {"field": field}, username=username, problem=" ".join(problems)
        ) from None
    _check_password(password, user)
    user.set_password(password)
    return user


def _created_events(user: User, membership: Membership, **context) -> list[EventSpec]:
    return [
        _event(
            "user_create",
            user,
            site=membership.site,
            changes={
                "username": {"old": None, "new": user.username},
                "full_name": {"old": None, "new": user.full_name},
                "email": {"old": None, "new": user.email},
            },
            **context,
        ),
        _grant_event(membership),
    ]


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    full_name: str,
    password: str,
    role: str,
    site: Site | None,
    email: str = "",
) -> User:
    """Create an account with one role at `site` (None: all sites); the password must change."""
    _authorize_manage(actor, site)
    role = _role(role)
    user = _new_user(username=username, full_name=full_name, email=email, password=password)
    user.password_changed_at = None
    user.save()
    password_history_record(user, at=timezone.now())
    membership = Membership.objects.create(user=user, site=site, role=role)
    actor_ = actor_for(actor)
    for spec in _created_events(user, membership, must_change_password=True):
        audit_record(spec, actor=actor_)
    return user


@transaction.atomic
def user_bootstrap_sponsor_admin(
    *, username: str, full_name: str, password: str, os_account: str, email: str = ""
) -> User:
    """The first account of a new study database: a sponsor administrator for every site.

    Nobody exists yet to authenticate as, so this is allowed only while the database has no
    user at all (decided under the audit chain's lock, so two first accounts cannot race). The
    person at the server's shell chooses their own password; the audit events name the
    operating-system account (`operator:<login>`, auth "bootstrap").
    """
    lock_chain_head()
    if User.objects.exists():
        raise PermissionDenied(BOOTSTRAP_NOT_EMPTY, {"field": "by"})
    user = _new_user(username=username, full_name=full_name, email=email, password=password)
    user.password_changed_at = timezone.now()
    user.save()
    password_history_record(user, at=user.password_changed_at)
    membership = Membership.objects.create(user=user, site=None, role=Role.SPONSOR_ADMIN)
    actor = Actor(
        user=None,
        username=f"operator:{os_account}",
        via="cli",
        os_account=os_account,
        auth="bootstrap",
    )
    audit_record_many(_created_events(user, membership, bootstrap=True), actor=actor)
    return user


def _grant_event(membership: Membership) -> EventSpec:
    return _event(
        "role_grant",
        membership.user,
        site=membership.site,
        changes={"role": {"old": None, "new": membership.role}},
        membership_id=membership.pk,
        all_sites=membership.site_id is None,
    )


@transaction.atomic
def role_grant(*, actor, user: User, role: str, site: Site | None, reason: str = "") -> Membership:
    """Give `user` a role at `site` (None: all sites); effective on the user's next request."""
    _authorize_manage(actor, site)
    role = _role(role)
    membership = (
        Membership.objects.select_for_update().filter(user=user, site=site, role=role).first()
    )
    if membership is not None and membership.active:
        raise InputError.coded(
            ROLE_ALREADY_GRANTED, username=user.username, role=role, where=_where(site)
        )
    if membership is None:
        membership = Membership.objects.create(user=user, site=site, role=role)
    else:
        membership.active = True
        membership.save(update_fields=["active"])
    spec = _grant_event(membership)
    spec.reason = reason
    audit_record(spec, actor=actor_for(actor))
    return membership


@transaction.atomic
def role_revoke(*, actor, user: User, role: str, site: Site | None, reason: str = "") -> Membership:
    """Take a role away; the membership is kept inactive (history), effective immediately."""
    _authorize_manage(actor, site)
    role = _role(role)
    membership = (
        Membership.objects.select_for_update()
        .filter(user=user, site=site, role=role, active=True)
        .first()
    )
    if membership is None:
        raise InputError.coded(
            ROLE_NOT_GRANTED, username=user.username, role=role, where=_where(site)
        )
    membership.active = False
    membership.save(update_fields=["active"])
    audit_record(
        _event(
            "role_revoke",
            user,
            site=site,
            changes={"role": {"old": role, "new": None}},
            reason=reason,
            membership_id=membership.pk,
            all_sites=site is None,
        ),
        actor=actor_for(actor),
    )
    return membership


@transaction.atomic
def user_deactivate(*, actor, user: User, reason: str) -> User:
    """Deactivate an account (never deleted); open sessions lose access on their next request."""
    _authorize_manage_user(actor, user)
    if getattr(actor, "pk", None) == user.pk:
        raise PermissionDenied(SELF_DEACTIVATION)
    if not (reason or "").strip():
        raise InputError(REASON_REQUIRED, {"field": "reason"})
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise InputError.coded(ALREADY_INACTIVE, username=user.username)
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(
        _event(
            "user_deactivate",
            user,
            changes={"is_active": {"old": True, "new": False}},
            reason=reason.strip(),
        ),
        actor=actor_for(actor),
    )
    return user


@transaction.atomic
def user_verify_identity(*, actor, user: User, evidence: str = "") -> User:
    """Record that `actor` verified `user`'s identity (21 CFR 11.100(b)); never oneself."""
    if actor is SYSTEM_OPERATOR:
        raise PermissionDenied(VERIFIER_NEEDED)
    _authorize_manage_user(actor, user)
    if actor.pk == user.pk:
        raise PermissionDenied(SELF_VERIFICATION)
    user = User.objects.select_for_update().get(pk=user.pk)
    old = user.identity_verified_by_id
    user.identity_verified_by = actor
    user.save(update_fields=["identity_verified_by"])
    audit_record(
        _event(
            "identity_verified",
            user,
            changes={"identity_verified_by": {"old": old, "new": actor.pk}},
            reason=(evidence or "").strip(),
        ),
        actor=actor_for(actor),
    )
    return user


@transaction.atomic
def user_password_set(*, actor, user: User, password: str) -> User:
    """An administrator sets someone's password: logged, and its owner must change it."""
    _authorize_manage_user(actor, user)
    _check_password(password, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    user.set_password(password)
    user.password_changed_at = None
    user.save(update_fields=["password", "password_changed_at"])
    password_history_record(user, at=timezone.now())
    audit_record(_event("password_set", user, must_change_password=True), actor=actor_for(actor))
    return user


def user_password_change(
    *, user: User, old_password: str, new_password: str, request: HttpRequest | None = None
) -> User:
    """The owner changes their own password (checking the current one).

    The current password is checked like a login (django-axes): a wrong one counts toward the
    same lockout, and a locked account cannot change it. The check runs before the change's
    transaction, so a failed attempt stays recorded when the change is refused.
    """
    attempt = authentication_request(request, channel=_channel(request))
    authenticated = authenticate(attempt, username=user.username, password=old_password or "")
    if getattr(attempt, "axes_locked_out", False):
        raise PermissionDenied(PASSWORD_LOCKED_OUT, {"field": "old_password"})
    if authenticated is None or authenticated.pk != user.pk:
        raise PermissionDenied(PASSWORD_OLD_WRONG, {"field": "old_password"})
    return _password_change(user=user, old_password=old_password, new_password=new_password)


def _channel(request: HttpRequest | None) -> str:
    existing = getattr(request, "mmtrial_channel", "") if request is not None else ""
    return existing or ("web" if request is not None else "service")


@transaction.atomic
def _password_change(*, user: User, old_password: str, new_password: str) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if old_password == new_password:
        raise InputError(PASSWORD_SAME, {"field": "new_password"})
    _check_password(new_password, user)
    user.set_password(new_password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    password_history_record(user, at=user.password_changed_at)
    audit_record(_event("password_change", user), actor=actor_for(user))
    return user


def password_change_required(user: User) -> bool:
    """The password must be changed before the user goes on: set by someone else, or expired."""
    return password_must_change(user) or password_expired(user)


@transaction.atomic
def password_max_age_set(*, actor, days: int | None, reason: str) -> SecurityPolicy:
    """The sponsor administrator sets how old a password may get (None: no expiry); audited."""
    if actor is SYSTEM_OPERATOR:
        raise PermissionDenied(POLICY_NEEDS_USER)
    _authorize_manage(actor, None)
    if days is not None and not MAX_AGE_DAYS_RANGE[0] <= days <= MAX_AGE_DAYS_RANGE[1]:
        low, high = MAX_AGE_DAYS_RANGE
        raise InputError.coded(MAX_AGE_INVALID, {"field": "days"}, days=days, low=low, high=high)
    if not (reason or "").strip():
        raise InputError(REASON_REQUIRED, {"field": "reason"})
    lock_chain_head()
    policy = SecurityPolicy.objects.filter(pk=1).first() or SecurityPolicy(pk=1)
    old = policy.password_max_age_days
    if old == days:
        raise InputError.coded(MAX_AGE_UNCHANGED, {"field": "days"}, days=_days_text(days))
    policy.password_max_age_days = days
    policy.save()
    audit_record(
        EventSpec(
            action="security_policy_change",
            model="securitypolicy",
            object_pk=str(policy.pk),
            changes={"password_max_age_days": {"old": old, "new": days}},
            reason=reason.strip(),
        ),
        actor=actor_for(actor),
    )
    return policy


def _days_text(days: int | None) -> str:
    return "no expiry" if days is None else f"{days} days"


@transaction.atomic
def user_unlock(*, actor, user: User, reason: str) -> User:
    """Clear a lockout after failed passwords: only this logged administrator action does it."""
    from axes.utils import reset

    _authorize_manage_user(actor, user)
    if not (reason or "").strip():
        raise InputError(REASON_REQUIRED, {"field": "reason"})
    cleared = reset(username=user.username)
    audit_record(
        _event("account_unlock", user, reason=reason.strip(), attempts_cleared=cleared),
        actor=actor_for(actor),
    )
    return user
