"""Choices used by accounts: audit event kinds, revocation reasons, code purposes."""

from django.db import models


class SecurityEventKind(models.TextChoices):
    """What the audit log records; every auth decision leaves one of these."""

    REGISTERED = "registered", "Registered"
    EMAIL_VERIFIED = "email_verified", "Email verified"
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login_failed", "Login failed"
    ACCOUNT_LOCKED = "account_locked", "Account locked"
    ACCOUNT_UNLOCKED = "account_unlocked", "Account unlocked"
    REFRESH = "refresh", "Refresh"
    TOKEN_REUSED = "token_reused", "Refresh token reused"
    LOGOUT = "logout", "Logout"
    LOGOUT_ALL = "logout_all", "Logout everywhere"
    SESSION_REVOKED = "session_revoked", "Session revoked"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
    PASSWORD_RESET = "password_reset", "Password reset"
    SUSPICIOUS = "suspicious", "Suspicious activity"
    ACCOUNT_DELETED = "account_deleted", "Account deleted"


class RevokeReason(models.TextChoices):
    """Why a session ended before its deadlines."""

    LOGOUT = "logout", "Logout"
    LOGOUT_ALL = "logout_all", "Logout everywhere"
    USER_REVOKED = "user_revoked", "Revoked by the user"
    ADMIN_REVOKED = "admin_revoked", "Revoked by staff"
    TOKEN_REUSED = "token_reused", "Refresh token reused"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    PASSWORD_RESET = "password_reset", "Password reset"
    SUSPICIOUS = "suspicious", "Suspicious activity"
    ACCOUNT_DELETED = "account_deleted", "Account deleted"
    USER_DEACTIVATED = "user_deactivated", "User deactivated"


class CodePurpose(models.TextChoices):
    """What a one-time code or link is for."""

    VERIFY_EMAIL = "verify_email", "Verify email"
    PASSWORD_RESET = "password_reset", "Password reset"
    UNLOCK = "unlock", "Unlock login"


class NotificationChannel(models.TextChoices):
    """Where a notification may go; each has its own preference switches."""

    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"
    IN_APP = "in_app", "In-app"


class NotificationCategory(models.TextChoices):
    """What a notification is about; users switch categories per channel."""

    ORDER_UPDATES = "order_updates", "Order updates"
    MARKETING = "marketing", "Marketing"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"


class ActivityKind(models.TextChoices):
    """User-activity events: behaviour analytics, recorded in batches."""

    LOGIN = "login", "Login"
    PRODUCT_VIEW = "product_view", "Product viewed"
    ORDER_ITEM_ADDED = "order_item_added", "Product added to an order"
