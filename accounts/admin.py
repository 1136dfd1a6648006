"""Admin for users: email is the login, stored lower-case; there is no username."""

from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User


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
        ("Important dates", {"fields": ("last_login", "date_joined")}),
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
    readonly_fields = ("last_login", "date_joined")

    @admin.display(description="name", ordering="last_name")
    def full_name(self, user: User) -> str:
        return user.get_full_name()
