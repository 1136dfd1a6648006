"""Admin for users (email is the login, stored lower-case; no username), their
sessions (with a Revoke action) and the read-only security audit log."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import clock, services
from accounts.client import client_from_request
from accounts.models import SecurityEvent, Session, User

_SESSION_FIELDS = (
    "id",
    "user",
    "created_at",
    "last_activity_at",
    "idle_expires_at",
    "expires_at",
    "revoked_at",
    "revoke_reason",
    "user_agent",
    "ua_family",
    "ip",
    "ips",
    "suspicion",
    "generation",
)


class _LowerCaseEmailMixin:
    # The accounts_user_email_lowercase constraint requires it, and login looks
    # emails up lower-cased.
    def clean_email(self) -> str:
        return self.cleaned_data["email"].lower()


class UserCreationForm(_LowerCaseEmailMixin, auth_forms.AdminUserCreationForm):
    """The admin's add form: an email instead of Django's username field."""

    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(_LowerCaseEmailMixin, auth_forms.UserChangeForm):
    """The admin's change form, bound to our user model."""

    class Meta:
        model = User
        fields = "__all__"


class SessionInline(admin.TabularInline):
    """A user's sessions, newest first (revoke them from the Sessions page)."""

    model = Session
    fields = (
        "id",
        "created_at",
        "last_activity_at",
        "expires_at",
        "revoked_at",
        "revoke_reason",
        "ip",
        "user_agent",
    )
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin with the email in the username's place."""

    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Marketplace", {"fields": ("is_seller", "is_verified")}),
        (
            "Permissions",
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ),
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined", "deleted_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = (
        "email",
        "full_name",
        "is_seller",
        "is_verified",
        "is_staff",
        "date_joined",
    )
    list_filter = ("is_seller", "is_verified", "is_staff", "is_superuser", "is_active")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined", "deleted_at")

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        # A user being added has no sessions yet.
        return [SessionInline] if obj is not None else []

    @admin.display(description="name", ordering="last_name")
    def full_name(self, user: User) -> str:
        return user.get_full_name()


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    """Login sessions; staff end them with the Revoke action (never edit)."""

    list_display = (
        "id",
        "user",
        "created_at",
        "last_activity_at",
        "expires_at",
        "revoked_at",
        "revoke_reason",
        "ip",
        "ua_family",
    )
    list_filter = ("revoke_reason", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "=ip")
    ordering = ("-created_at",)
    show_full_result_count = False
    fields = _SESSION_FIELDS
    readonly_fields = _SESSION_FIELDS
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke selected sessions", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.sessions_admin_revoke(
            session_ids=list(queryset.values_list("pk", flat=True)),
            by=request.user,
            client=client_from_request(request),
            now=clock.now(),
        )
        self.message_user(request, f"{count} session(s) revoked.", messages.SUCCESS)


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """The audit log: read-only."""

    list_display = ("created_at", "kind", "user", "ip", "user_agent", "session")
    list_filter = ("kind", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "=ip")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("user", "session")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
