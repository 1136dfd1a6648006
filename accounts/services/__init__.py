"""Writes of accounts (a package: one module per concern, re-exported here)."""

from accounts.services.audit import security_event_record
from accounts.services.login import (
    account_unlock,
    credentials_check,
    login_succeeded,
    user_login,
)
from accounts.services.maintenance import sessions_cleanup
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
    "credentials_check",
    "email_verify",
    "login_succeeded",
    "otp_resend",
    "password_change",
    "password_reset_confirm",
    "password_reset_request",
    "security_event_record",
    "session_logout",
    "session_logout_all",
    "session_refresh",
    "session_revoke",
    "session_touch",
    "sessions_admin_revoke",
    "sessions_cleanup",
    "sessions_revoke",
    "user_delete",
    "user_login",
    "user_register",
    "user_update",
]
