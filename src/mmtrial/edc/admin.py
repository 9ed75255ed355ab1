"""Django admin: the audit trail read-only for everyone; sites and users with audited changes.

Audit events can be viewed but never added, changed or deleted here, superusers included
(E6 4.2.2(b)): the change and delete views answer 403, and the changelist is scoped to the
sites where the user may view the audit trail. Sites and users are never deleted; every change
made here writes an audit event naming the administrator and their address.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from mmtrial.edc.audit import EventSpec, audit_actor, audit_record, current_actor
from mmtrial.edc.models import AuditEvent, Membership, Site, User
from mmtrial.edc.security import source_ip
from mmtrial.edc.selectors.audit import audit_event_list


def _as_admin(request):
    return audit_actor(request.user, via="admin", source_ip=source_ip(request))


def _changes(form, names) -> dict:
    return {
        name: {"old": form.initial.get(name), "new": form.cleaned_data.get(name)}
        for name in names
        if name in form.cleaned_data
    }


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "occurred_at",
        "actor_username",
        "action",
        "model",
        "object_pk",
        "site_code",
        "subject",
    )
    list_filter = ("action", "model", "site_code")
    search_fields = ("subject", "actor_username", "object_pk")
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def get_queryset(self, request):
        if request.user.is_superuser:
            return super().get_queryset(request)
        return audit_event_list(user=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_ja", "timezone", "active")
    search_fields = ("code", "name")
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return ("code", "created_at") if obj is not None else ("created_at",)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        with _as_admin(request):
            super().save_model(request, obj, form, change)
            if change and not form.changed_data:
                return
            audit_record(
                EventSpec(
                    action="site_update" if change else "site_add",
                    model="site",
                    object_pk=str(obj.pk),
                    site_code=obj.code,
                    changes=_changes(form, form.changed_data if change else form.fields),
                )
            )


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """An administrator sets a password: logged, and its owner must change it at next login."""

    def save(self, commit=True):
        user = super().save(commit=False)
        user.password_changed_at = None
        if commit:
            user.save()
            audit_record(
                EventSpec(
                    action="password_set",
                    model="user",
                    object_pk=str(user.pk),
                    context={"target_username": user.username, "must_change_password": True},
                ),
                actor=current_actor(),
            )
        return user


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("site", "role", "active", "granted_at")
    readonly_fields = ("granted_at",)
    extra = 0
    can_delete = False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [MembershipInline]
    change_password_form = AuditedPasswordChangeForm
    list_display = ("username", "full_name", "email", "is_active", "identity_verified_by")
    search_fields = ("username", "full_name", "email")
    actions = None
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("full_name", "email", "preferred_language")}),
        (
            "Status",
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "identity_verified_by",
                    "password_changed_at",
                    "last_login",
                    "date_joined",
                )
            },
        ),
    )
    add_fieldsets = ((None, {"fields": ("username", "full_name", "password1", "password2")}),)

    def get_readonly_fields(self, request, obj=None):
        fixed = ("identity_verified_by", "password_changed_at", "last_login", "date_joined")
        # User names are never renamed or reused (21 CFR 11.100(a)).
        return (*fixed, "username") if obj is not None else fixed

    def has_delete_permission(self, request, obj=None):
        return False

    def user_change_password(self, request, id, form_url=""):
        with _as_admin(request):
            return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        with _as_admin(request):
            super().save_model(request, obj, form, change)
            names = [n for n in form.changed_data if not n.startswith("password")]
            if change and not names:
                return
            changes = _changes(form, names)
            audit_record(
                EventSpec(
                    action="user_update" if change else "user_create",
                    model="user",
                    object_pk=str(obj.pk),
                    changes=changes,
                    context={"target_username": obj.username, "must_change_password": not change},
                )
            )

    def save_formset(self, request, form, formset, change):
        with _as_admin(request):
            instances = formset.save()
            specs = []
            for membership_form in formset.forms:
                membership = membership_form.instance
                if membership.pk is None or not membership_form.has_changed():
                    continue
                specs.extend(_membership_events(membership_form, membership))
            for spec in specs:
                audit_record(spec)
            return instances


def _membership_events(form, membership: Membership) -> list[EventSpec]:
    """role_grant / role_revoke events for one inline row that was added or changed."""
    site_code = membership.site.code if membership.site_id else ""

    def event(action: str, role_change: dict) -> EventSpec:
        return EventSpec(
            action=action,
            model="user",
            object_pk=str(membership.user_id),
            site_code=site_code,
            changes={"role": role_change},
            context={"membership_id": membership.pk, "all_sites": membership.site_id is None},
        )

    if not form.initial:  # a new row
        return (
            [event("role_grant", {"old": None, "new": membership.role})]
            if membership.active
            else []
        )
    events = []
    was_active = form.initial.get("active", True)
    if {"site", "role"} & set(form.changed_data):
        if was_active:
            events.append(event("role_revoke", {"old": form.initial.get("role"), "new": None}))
        if membership.active:
            events.append(event("role_grant", {"old": None, "new": membership.role}))
    elif "active" in form.changed_data:
        if membership.active:
            events.append(event("role_grant", {"old": None, "new": membership.role}))
        else:
            events.append(event("role_revoke", {"old": membership.role, "new": None}))
    return events
