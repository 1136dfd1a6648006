"""Input and output shapes of /api/auth/ (API.md's Accounts table)."""

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import Session, User
from config.api.serializers import StrictSerializer

# Bounds on what a client may send: beyond them a value is refused with 400
# before anything hashes or looks it up.
PASSWORD_MAX = 256
TOKEN_MAX = 2048


def _email() -> serializers.EmailField:
    return serializers.EmailField(max_length=254)


def _password() -> serializers.CharField:
    return serializers.CharField(
        max_length=PASSWORD_MAX, trim_whitespace=False, write_only=True
    )


def _code() -> serializers.RegexField:
    return serializers.RegexField(r"^[0-9]{6,8}$", max_length=8)


class RegisterInput(StrictSerializer):
    email = _email()
    password = _password()
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = User(
            email=attrs["email"].lower(),
            first_name=attrs.get("first_name", ""),
            last_name=attrs.get("last_name", ""),
        )
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                {"password": list(exc.messages)}
            ) from None
        return attrs


class RegisterOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "is_verified"]


class VerifyEmailInput(StrictSerializer):
    email = _email()
    code = _code()


class VerifiedOutput(serializers.Serializer):
    is_verified = serializers.BooleanField()


class EmailInput(StrictSerializer):
    email = _email()


class LoginInput(StrictSerializer):
    email = _email()
    password = _password()


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    session_id = serializers.UUIDField()
    access_expires_at = serializers.DateTimeField()
    refresh_expires_at = serializers.DateTimeField()


class RefreshInput(StrictSerializer):
    refresh = serializers.CharField(max_length=TOKEN_MAX)


class LogoutInput(StrictSerializer):
    refresh = serializers.CharField(max_length=TOKEN_MAX, required=False)


class SessionOutput(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = [
            "id",
            "user_agent",
            "ip",
            "created_at",
            "last_activity_at",
            "idle_expires_at",
            "expires_at",
            "current",
        ]

    def get_current(self, session: Session) -> bool:
        return str(session.pk) == self.context.get("session_id")


class ProfileOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "is_verified",
            "is_seller",
            "date_joined",
        ]


class ProfileUpdateInput(StrictSerializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class PasswordConfirmInput(StrictSerializer):
    password = _password()


class UnlockInput(StrictSerializer):
    token = serializers.CharField(max_length=128)


class PasswordChangeInput(StrictSerializer):
    old_password = _password()
    new_password = _password()


class PasswordResetConfirmInput(StrictSerializer):
    email = _email()
    code = _code()
    new_password = _password()


class DetailOutput(serializers.Serializer):
    detail = serializers.CharField()
