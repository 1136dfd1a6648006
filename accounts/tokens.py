"""JWTs on simplejwt: a key ring with ``kid`` headers, a pinned algorithm,
``iss``/``aud``/``typ`` checked, and every time check made against our clock.

simplejwt's ``TokenBackend`` holds one key; ``KeyRingTokenBackend`` signs with
the current key and verifies with whichever key the ``kid`` header names, so a
rotated-out key keeps verifying until its tokens have expired. PyJWT signs;
verification is our own single pass (see ``decode``). Time checks happen in
``Token.verify`` against ``accounts.clock``, which lets tests move time and
makes every expiry an ``ExpiredTokenError``.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from django.conf import settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import (
    ExpiredTokenError,
    TokenBackendError,
    TokenError,
)
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import datetime_from_epoch, datetime_to_epoch

from accounts import clock

ALGORITHM = "HS256"
# Claims every token must carry; PyJWT refuses a token missing any of them.
REQUIRED_CLAIMS = ["exp", "iat", "jti", "iss", "aud", "sub", "sid", "typ"]


def key_id(key: str) -> str:
    """A stable, non-secret name for a signing key (the ``kid`` header)."""
    return hashlib.sha256(b"bazaar-jwt-kid:" + key.encode()).hexdigest()[:16]


class KeyRingTokenBackend(TokenBackend):
    """HS256 with several verifying keys, chosen by ``kid``; signs with the first."""

    def __init__(
        self, *, keys: tuple[str, ...], audience: str, issuer: str, leeway: int
    ) -> None:
        super().__init__(
            ALGORITHM,
            signing_key=keys[0],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
        )
        self.keys = {key_id(key): key for key in keys}
        self._key_bytes = {kid: key.encode() for kid, key in self.keys.items()}
        self.current_kid = key_id(keys[0])

    def encode(self, payload: dict[str, Any]) -> str:
        claims = {**payload, "aud": self.audience, "iss": self.issuer}
        return jwt.encode(
            claims,
            self.signing_key,
            algorithm=ALGORITHM,
            headers={"kid": self.current_kid, "typ": "JWT"},
        )

    def decode(self, token: Any, verify: bool = True) -> dict[str, Any]:
        """Verify an HS256 token in one pass.

        PyJWT's decode checks base64url character by character in Python and,
        to pick a key by ``kid``, the header must be parsed twice; on the
        per-request path that was most of the authentication cost. This does
        the same checks with one regex, one HMAC and two ``json.loads``.
        """
        if not verify:
            # Nothing here may read a token without checking its signature.
            raise TokenBackendError("Unverified decoding is not allowed")
        if isinstance(token, bytes):
            token = token.decode("latin-1")
        if not isinstance(token, str) or not _COMPACT_JWS.fullmatch(token):
            raise TokenBackendError("Token is invalid")
        signing_input, _, signature = token.rpartition(".")
        header_segment, _, payload_segment = signing_input.partition(".")
        header = _json_segment(header_segment)
        kid = header.get("kid")
        key = self._key_bytes.get(kid) if isinstance(kid, str) else None
        if key is None or header.get("alg") != ALGORITHM or "crit" in header:
            raise TokenBackendError("Token is invalid")
        expected = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256)
        if not hmac.compare_digest(expected.digest(), _b64url(signature)):
            raise TokenBackendError("Token is invalid")
        payload = _json_segment(payload_segment)
        if any(claim not in payload for claim in REQUIRED_CLAIMS):
            raise TokenBackendError("Token is invalid")
        audience = payload["aud"]
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences or payload["iss"] != self.issuer:
            raise TokenBackendError("Token is invalid")
        return payload


# A compact JWS: three base64url segments (no padding, nothing else).
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _b64url(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenBackendError("Token is invalid") from exc


def _json_segment(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url(segment))
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise TokenBackendError("Token is invalid") from exc
    if not isinstance(value, dict):
        raise TokenBackendError("Token is invalid")
    return value


@lru_cache(maxsize=4)
def _backend(
    keys: tuple[str, ...], audience: str, issuer: str, leeway: int
) -> KeyRingTokenBackend:
    return KeyRingTokenBackend(
        keys=keys, audience=audience, issuer=issuer, leeway=leeway
    )


def token_backend() -> KeyRingTokenBackend:
    """The backend for the current settings (cached; settings are read per call
    so tests that change them see the change)."""
    keys = (settings.JWT_SIGNING_KEY, *settings.JWT_PREVIOUS_SIGNING_KEYS)
    return _backend(
        tuple(k for k in keys if k),
        settings.JWT_AUDIENCE,
        settings.JWT_ISSUER,
        settings.JWT_LEEWAY_SECONDS,
    )


class _ClockedToken(Token):
    """simplejwt's token with our backend and our clock."""

    def __init__(self, token: Any = None, *, now: datetime | None = None) -> None:
        self._now = now or clock.now()
        super().__init__(token, verify=True)
        if token is None:
            self.current_time = self._now
            self.set_iat(at_time=self._now)
            self.set_exp(from_time=self._now, lifetime=self.lifetime)

    @property
    def token_backend(self) -> KeyRingTokenBackend:  # type: ignore[override]
        return token_backend()

    def get_token_backend(self) -> KeyRingTokenBackend:  # type: ignore[override]
        return token_backend()

    def verify(self) -> None:
        self.current_time = self._now
        super().verify()
        leeway = timedelta(seconds=settings.JWT_LEEWAY_SECONDS)
        iat = self.payload.get("iat")
        if not isinstance(iat, int | float) or (
            datetime_from_epoch(iat) > self._now + leeway
        ):
            raise TokenError("Token was issued in the future")

    def check_exp(
        self, claim: str = "exp", current_time: datetime | None = None
    ) -> None:
        value = self.payload.get(claim)
        if not isinstance(value, int | float):
            raise TokenError(f"Token has no '{claim}' claim")
        leeway = timedelta(seconds=settings.JWT_LEEWAY_SECONDS)
        if datetime_from_epoch(value) <= (current_time or self._now) - leeway:
            raise ExpiredTokenError("Token has expired")

    @property
    def expires_at(self) -> datetime:
        return datetime_from_epoch(self.payload["exp"])


class AccessToken(_ClockedToken):
    """Short-lived bearer token naming the user (``sub``) and session (``sid``)."""

    token_type = "access"  # noqa: S105

    @property
    def lifetime(self) -> timedelta:  # type: ignore[override]
        return timedelta(minutes=settings.ACCESS_TOKEN_MINUTES)


class RefreshToken(_ClockedToken):
    """One generation of a session's refresh token; ``exp`` is the session's
    absolute deadline, ``gen`` its generation."""

    token_type = "refresh"  # noqa: S105

    @property
    def lifetime(self) -> timedelta:  # type: ignore[override]
        return timedelta(days=settings.SESSION_MAX_DAYS)


def jti_hash(jti: str) -> str:
    """What the database keeps of a refresh token: a hash of its id."""
    return hashlib.sha256(jti.encode()).hexdigest()


def access_token_issue(*, user_id: int, session_id: str, now: datetime) -> AccessToken:
    token = AccessToken(now=now)
    token["sub"] = str(user_id)
    token["sid"] = str(session_id)
    return token


def refresh_token_issue(
    *,
    user_id: int,
    session_id: str,
    generation: int,
    expires_at: datetime,
    now: datetime,
) -> RefreshToken:
    token = RefreshToken(now=now)
    token["sub"] = str(user_id)
    token["sid"] = str(session_id)
    token["gen"] = generation
    token["exp"] = datetime_to_epoch(expires_at)
    return token
