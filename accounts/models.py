"""Users, their login sessions (refresh-token families), one-time codes, audit."""

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.enums import (
    ActivityKind,
    CampaignStatus,
    CodePurpose,
    RevokeReason,
    SecurityEventKind,
)

# E.164: "+", a country code that does not start with 0, at most 15 digits.
phone_validator = RegexValidator(
    r"^\+[1-9][0-9]{6,14}$", "Enter a phone number in E.164 form, e.g. +14155550123."
)


class UserManager(BaseUserManager["User"]):
    """Creates users by email; looks them up case-insensitively."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(
        self, email: str, password: str | None = None, **extra: object
    ) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(
        self, email: str, password: str | None = None, **extra: object
    ) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> "User":
        # Login (admin, API) must not depend on how the user typed the case.
        # Emails are stored lower-case (a check constraint holds it), so the
        # plain unique index answers a case-insensitive lookup.
        return self.get(email=(username or "").lower())


class User(AbstractUser):
    """A shopper, a seller (``is_seller``) or staff; there is no username."""

    username = None  # type: ignore[assignment]
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField("email address", max_length=254, unique=True)
    is_seller = models.BooleanField(default=False)
    is_verified = models.BooleanField(default=False)
    # Bumped by logout-all: every Django (cookie) session of the user ends,
    # because the session auth hash below changes with it.
    session_epoch = models.PositiveIntegerField(default=0)
    # Set when the account was deleted (anonymised); the row stays for orders.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Optional, E.164; only SMS notifications need it (no phone: SMS skipped).
    phone = models.CharField(max_length=16, blank=True, validators=[phone_validator])

    objects = UserManager()  # type: ignore[misc]

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            # Stored lower-case so uniqueness is case-insensitive.
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")),
                name="accounts_user_email_lowercase",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django's hash covers the password only; the epoch lets logout-all end
        # cookie sessions without touching the password. Epoch 0 keeps Django's
        # value, so adding the field logged nobody out.
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email.split("@", 1)[0]


class Session(models.Model):
    """A login: one family of refresh tokens, rotated on every refresh.

    Only the hash of the current (and the previous) refresh token's ``jti`` is
    kept, never a token. ``expires_at`` is the absolute deadline (also the
    refresh token's ``exp``); ``idle_expires_at`` slides with activity.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="auth_sessions",
        db_index=False,  # covered by session_user_created_idx
    )
    created_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    idle_expires_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(
        max_length=32, choices=RevokeReason.choices, blank=True
    )
    user_agent = models.CharField(max_length=512, blank=True)
    ua_family = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # Distinct addresses seen on this session (capped), for the suspicious rule.
    ips = ArrayField(models.GenericIPAddressField(), default=list, blank=True)
    suspicion = models.PositiveSmallIntegerField(default=0)
    generation = models.PositiveIntegerField(default=1)
    refresh_jti_hash = models.CharField(max_length=64)
    previous_jti_hash = models.CharField(max_length=64, blank=True)
    # When the current generation was issued: the grace window starts here.
    rotated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(idle_expires_at__lte=F("expires_at")),
                name="session_idle_within_absolute",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoke_reason=""),
                name="session_revoked_has_reason",
            ),
        ]
        indexes = [
            # "My sessions" and revoke-all.
            models.Index(
                fields=["user", "-created_at"], name="session_user_created_idx"
            ),
            # cleanup_sessions scans by deadline.
            models.Index(fields=["expires_at"], name="session_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.pk}"

    @property
    def refresh_expires_at(self):
        """The sooner of the two deadlines (API.md's ``refresh_expires_at``)."""
        return min(self.idle_expires_at, self.expires_at)


class OneTimeCode(models.Model):
    """An emailed secret (OTP, reset code, unlock link); only its HMAC is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="one_time_codes",
        db_index=False,  # covered by onetimecode_user_purpose_idx
    )
    purpose = models.CharField(max_length=32, choices=CodePurpose.choices)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["user", "purpose", "-created_at"],
                name="onetimecode_user_purpose_idx",
            ),
            models.Index(fields=["code_hash"], name="onetimecode_hash_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} for {self.user_id}"


class SecurityEvent(models.Model):
    """Audit log of authentication events, with the address and user agent."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
        db_index=False,  # covered by securityevent_user_kind_idx
    )
    session = models.ForeignKey(
        Session,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
    )
    kind = models.CharField(max_length=32, choices=SecurityEventKind.choices)
    created_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            # Lockout's database fallback counts recent failures per user.
            models.Index(
                fields=["user", "kind", "-created_at"],
                name="securityevent_user_kind_idx",
            ),
            models.Index(fields=["-created_at"], name="securityevent_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class NotificationPreferences(models.Model):
    """One user's switches per channel and category (API.md's preferences).

    No row means the defaults below: order updates by email and in-app only.
    Only the pairs the API exposes exist; any other pair counts as off.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_preferences",
    )
    email_order_updates = models.BooleanField(default=True)
    email_marketing = models.BooleanField(default=False)
    sms_order_updates = models.BooleanField(default=False)
    push_order_updates = models.BooleanField(default=False)
    push_marketing = models.BooleanField(default=False)
    in_app_order_updates = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification preferences"
        indexes = [
            # The campaign audience: users who accept marketing email.
            models.Index(
                fields=["user"],
                name="notifpref_email_marketing_idx",
                condition=Q(email_marketing=True),
            ),
        ]

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class Notification(models.Model):
    """An in-app notification for one user; unread while ``read_at`` is null."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,  # covered by notification_user_created_idx
    )
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # "Mine, newest first" (the cursor orders by -created_at, -id).
            models.Index(
                fields=["user", "-created_at", "-id"],
                name="notification_user_created_idx",
            ),
            # Unread count and read-all touch only the unread rows.
            models.Index(
                fields=["user"],
                name="notification_unread_idx",
                condition=Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class Campaign(models.Model):
    """A marketing email to every user who accepts marketing email.

    ``subject`` and ``body`` are Django template strings rendered per recipient
    (``{{ first_name }}``, ``{{ last_name }}``, ``{{ email }}``). Counts are
    bumped by the batch jobs as recipients are actually sent or skipped.
    """

    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="Django template: {{ first_name }} etc.")
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    # Send outside the BATCH off-peak window (JOB_BATCH_WINDOW).
    forced = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recipients_count = models.PositiveIntegerField(default=0)
    batches_count = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # When Send was pressed, and when the last batch finished.
    started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="campaign_created_idx")]

    def __str__(self) -> str:
        return self.subject


class CampaignBatch(models.Model):
    """One slice of a campaign's audience (a user id range), sent by one job.

    Unique per (campaign, number): a retried fan-out finds its batches and
    enqueues nothing twice.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="batches"
    )
    number = models.PositiveIntegerField()
    first_user_id = models.BigIntegerField()
    last_user_id = models.BigIntegerField()
    size = models.PositiveIntegerField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"], name="campaignbatch_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}#{self.number}"


class ActivityEvent(models.Model):
    """One thing a signed-in user did (login, product view, product ordered).

    Never inserted by a request: ``accounts.activity`` queues events in Redis
    and a LOW job writes them in batches. ``event_id`` is made when the event
    happens, so a batch written twice (a flush that died before trimming its
    queue) stores each event once. Behaviour analytics, not an audit trail
    (that is ``SecurityEvent``): kept ``ACTIVITY_KEEP_DAYS``.
    """

    event_id = models.UUIDField(unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # covered by activity_user_time_idx
    )
    kind = models.CharField(max_length=32, choices=ActivityKind.choices)
    product_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "occurred_at"], name="activity_user_time_idx"),
            models.Index(fields=["kind", "occurred_at"], name="activity_kind_time_idx"),
            # Append-mostly in time order: a BRIN index serves the purge cheaply.
            BrinIndex(fields=["occurred_at"], name="activity_time_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user_id} at {self.occurred_at:%Y-%m-%d %H:%M}"
