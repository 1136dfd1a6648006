"""Errors of the accounts domain; ``config.api.exceptions`` renders them."""

from config.api.errors import DomainError


class AccountsError(DomainError):
    """Base of every accounts error."""


class AuthError(AccountsError):
    """401: the caller's credentials or token do not hold."""

    status_code = 401
    code = "not_authenticated"
    default_detail = "Authentication failed."


class InvalidCredentials(AuthError):
    code = "invalid_credentials"
    default_detail = "Invalid email or password."


class TokenInvalid(AuthError):
    code = "token_not_valid"
    default_detail = "Token is invalid."


class TokenReused(AuthError):
    code = "token_reused"
    default_detail = "This refresh token was already used; the session has ended."


class SessionExpired(AuthError):
    code = "session_expired"
    default_detail = "The session has expired; log in again."


class SessionRevoked(AuthError):
    code = "session_revoked"
    default_detail = "The session has ended; log in again."


class Throttled(AccountsError):
    """429 with ``Retry-After`` (the view sets the header from ``retry_after``)."""

    status_code = 429
    code = "throttled"
    default_detail = "Too many requests; try again later."

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class AccountLocked(Throttled):
    code = "account_locked"
    default_detail = (
        "Too many failed logins; the account is locked for a while. "
        "The owner was emailed a link to unlock it."
    )


class FieldErrors(AccountsError):
    """400 in DRF's field-map shape (the API layer re-raises it as such)."""

    code = "invalid"

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("Invalid input.")
        self.fields = fields


class EmailTaken(FieldErrors):
    def __init__(self) -> None:
        super().__init__({"email": ["A user with this email already exists."]})


class InvalidCode(AccountsError):
    code = "invalid_code"
    default_detail = "The code is wrong or has expired."


class InvalidUnlockToken(AccountsError):
    code = "invalid_token"
    default_detail = "The unlock link is invalid, used or expired."


class WrongPassword(AccountsError):
    code = "wrong_password"
    default_detail = "The password is not correct."


class ServiceUnavailable(AccountsError):
    status_code = 503
    code = "service_unavailable"
    default_detail = "The service is temporarily unavailable; try again shortly."


class InvalidUnsubscribeToken(AccountsError):
    code = "invalid_token"
    default_detail = "The unsubscribe link is invalid."


class CampaignNotDraft(AccountsError):
    status_code = 409
    code = "invalid_transition"
    default_detail = "Only a draft campaign can be sent."
