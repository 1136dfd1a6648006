"""Admin for users (email is the login, stored lower-case; no username), their
sessions (with a Revoke action), the read-only security audit log, and
notifications: read-only notifications, preferences per user, and marketing
campaigns with a Send action."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template import TemplateSyntaxError
from django.utils import timezone

from accounts import clock, selectors, services
from accounts.client import client_from_request
from accounts.enums import CampaignStatus
from accounts.exceptions import CampaignNotDraft
from accounts.models import (
    ActivityEvent,
    Campaign,
    Notification,
    NotificationPreferences,
    SecurityEvent,
    Session,
    User,
)
from accounts.preferences import PREFERENCE_FIELDS, preferences_as_dict
from accounts.services.campaigns import campaign_template_check

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


class _ViewOnlyAdmin(admin.ModelAdmin):
    """Rows written by the system (logs, users' own choices): staff look,
    never add or edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
        ("Personal info", {"fields": ("first_name", "last_name", "phone")}),
        ("Notifications", {"fields": ("notification_settings",)}),
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
    readonly_fields = (
        "last_login",
        "date_joined",
        "deleted_at",
        "notification_settings",
    )

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        # A user being added has no sessions yet.
        return [SessionInline] if obj is not None else []

    @admin.display(description="name", ordering="last_name")
    def full_name(self, user: User) -> str:
        return user.get_full_name()

    @admin.display(description="preferences")
    def notification_settings(self, user: User) -> str:
        # Shown even without a row (then the defaults apply); changed by the
        # user through the API, or on the Notification preferences page.
        prefs = selectors.notification_preferences_get(user=user)
        return "; ".join(
            f"{channel}: "
            + ", ".join(f"{k}={'on' if v else 'off'}" for k, v in c.items())
            for channel, c in preferences_as_dict(prefs).items()
        )


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


@admin.register(ActivityEvent)
class ActivityEventAdmin(_ViewOnlyAdmin):
    """User-activity events as the flush job wrote them: read-only."""

    list_display = ("occurred_at", "kind", "user", "product_id", "data")
    list_filter = ("kind", "occurred_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "=product_id")
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at",)
    show_full_result_count = False
    raw_id_fields = ("user",)


@admin.register(SecurityEvent)
class SecurityEventAdmin(_ViewOnlyAdmin):
    """The audit log: read-only."""

    list_display = ("created_at", "kind", "user", "ip", "user_agent", "session")
    list_filter = ("kind", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "=ip")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("user", "session")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(NotificationPreferences)
class NotificationPreferencesAdmin(_ViewOnlyAdmin):
    """Users' switches (a user without a row has the defaults); read-only, since
    consent to marketing is the user's to give."""

    list_display = (
        "user",
        *(field for fields in PREFERENCE_FIELDS.values() for field in fields.values()),
        "updated_at",
    )
    list_filter = ("email_marketing", "sms_order_updates", "push_marketing")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(_ViewOnlyAdmin):
    """In-app notifications: read-only."""

    list_display = ("created_at", "user", "kind", "title", "read_at")
    list_filter = ("kind", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "title")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    raw_id_fields = ("user",)


class CampaignForm(forms.ModelForm):
    """Refuses subject or body templates that do not compile."""

    class Meta:
        model = Campaign
        fields = ("subject", "body", "forced")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field in ("subject", "body"):
            try:
                campaign_template_check(text=data.get(field) or "")
            except TemplateSyntaxError as exc:
                self.add_error(field, f"Template error: {exc}")
        return data


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Marketing emails: staff write a draft and press Send (BATCH jobs, in the
    off-peak window unless forced). Only drafts can be edited."""

    form = CampaignForm
    list_display = (
        "subject",
        "status",
        "forced",
        "recipients_count",
        "sent_count",
        "skipped_count",
        "batches_count",
        "created_by",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "forced")
    search_fields = ("subject",)
    ordering = ("-created_at",)
    readonly_fields = (
        "status",
        "created_by",
        "recipients_count",
        "batches_count",
        "sent_count",
        "skipped_count",
        "created_at",
        "started_at",
        "sent_at",
    )
    actions = ["send_selected"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        editable = obj is None or obj.status == CampaignStatus.DRAFT
        return editable and super().has_change_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: Campaign, form: Any, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Send selected campaigns", permissions=["change"])
    def send_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        sent = 0
        for campaign_id in queryset.values_list("pk", flat=True):
            try:
                services.campaign_send(campaign_id=campaign_id, now=timezone.now())
            except CampaignNotDraft:
                continue
            sent += 1
        skipped = queryset.count() - sent
        self.message_user(
            request,
            f"{sent} campaign(s) queued for sending"
            + (f"; {skipped} not drafts, left alone." if skipped else "."),
            messages.SUCCESS if sent else messages.WARNING,
        )
