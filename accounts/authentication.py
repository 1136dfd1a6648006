"""DRF authentication by access token, checked against the session it names.

simplejwt's ``JWTAuthentication`` parses the header; the token is ours
(``accounts.tokens``) and the user comes from the session check in the
``security`` cache, not from a query per request. Failures are DRF
``AuthenticationFailed`` with one ``code``, so clients see API.md's
``{"detail", "code"}`` and a ``WWW-Authenticate`` header.
"""

import uuid
from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError

from accounts import clock, selectors, services
from accounts.exceptions import AuthError
from accounts.models import User
from accounts.tokens import AccessToken


class SessionJWTAuthentication(JWTAuthentication):
    """``Authorization: Bearer <access token>`` of a live session."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:
        header = self.get_header(request)
        if header is None:
            return None
        parts = header.split()
        if not parts or parts[0] != b"Bearer":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Authorization header must be 'Bearer <token>'.",
                code="bad_authorization_header",
            )
        now = clock.now()
        token = self.get_validated_token(parts[1], now=now)
        try:
            user, state = selectors.session_authenticate(
                session_id=token["sid"], user_id=token["sub"], now=now
            )
        except AuthError as exc:
            raise exceptions.AuthenticationFailed(exc.detail, code=exc.code) from None
        services.session_touch(session_id=token["sid"], state=state, now=now)
        return user, token

    def get_validated_token(self, raw_token: bytes, now: Any = None) -> AccessToken:  # type: ignore[override]
        try:
            token = AccessToken(raw_token.decode("latin-1"), now=now)
        except ExpiredTokenError:
            raise exceptions.AuthenticationFailed(
                "The access token has expired; refresh it.", code="token_expired"
            ) from None
        except TokenError:
            raise exceptions.AuthenticationFailed(
                "The access token is invalid.", code="token_not_valid"
            ) from None
        try:
            uuid.UUID(str(token["sid"]))
            int(token["sub"])
        except (TypeError, ValueError):
            raise exceptions.AuthenticationFailed(
                "The access token is invalid.", code="token_not_valid"
            ) from None
        return token


def session_id_of(request: Request) -> str | None:
    """The session an API request authenticated with (None for cookie auth)."""
    token = getattr(request, "auth", None)
    if isinstance(token, AccessToken):
        return str(token["sid"])
    return None
