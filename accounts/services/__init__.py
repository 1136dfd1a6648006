"""Writes of accounts (a package: one module per concern, re-exported here)."""

from accounts.services.audit import security_event_record
from accounts.services.campaigns import (
    campaign_batch_send,
    campaign_fan_out,
    campaign_send,
)
from accounts.services.login import (
    account_unlock,
    credentials_check,
    login_succeeded,
    user_login,
)
from accounts.services.maintenance import sessions_cleanup
from accounts.services.notification_delivery import push_deliver, sms_deliver
from accounts.services.notifications import (
    email_unsubscribe,
    notification_mark_read,
    notifications_mark_all_read,
    notify,
    preferences_update,
)
from accounts.services.passwords import (
    password_change,
    password_reset_confirm,
    password_reset_request,
)
from accounts.services.registration import email_verify, otp_resend, user_register
from accounts.services.sessions import (
    session_logout,
    session_logout_all,
    session_refresh,
    session_revoke,
    session_touch,
    sessions_admin_revoke,
    sessions_revoke,
)
from accounts.services.users import user_delete, user_update

__all__ = [
    "account_unlock",
    "campaign_batch_send",
    "campaign_fan_out",
    "campaign_send",
    "credentials_check",
    "email_unsubscribe",
    "email_verify",
    "login_succeeded",
    "notification_mark_read",
    "notifications_mark_all_read",
    "notify",
    "otp_resend",
    "password_change",
    "password_reset_confirm",
    "password_reset_request",
    "preferences_update",
    "push_deliver",
    "security_event_record",
    "session_logout",
    "session_logout_all",
    "session_refresh",
    "session_revoke",
    "session_touch",
    "sessions_admin_revoke",
    "sessions_cleanup",
    "sessions_revoke",
    "sms_deliver",
    "user_delete",
    "user_login",
    "user_register",
    "user_update",
]
