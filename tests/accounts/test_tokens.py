"""Token hygiene: signature, algorithm, claims, key rotation, session state."""

import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from accounts.tokens import key_id
from tests.accounts.conftest import ME_URL, REFRESH_URL, bearer, login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

INVALID = {"detail": "The access token is invalid.", "code": "token_not_valid"}


def me(access: str):
    return APIClient().get(ME_URL, **bearer(access))


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def forge(payload: dict, *, key: str | bytes, alg: str = "HS256", **headers) -> str:
    return jwt.encode(payload, key, algorithm=alg, headers=headers or None)


def b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_refused(access: str, body: dict = INVALID) -> None:
    response = me(access)
    assert response.status_code == 401
    assert response.json() == body
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_access_token_carries_kid_sid_and_standard_claims(tokens):
    header = header_of(tokens["access"])
    claims = claims_of(tokens["access"])

    assert header == {
        "alg": "HS256",
        "typ": "JWT",
        "kid": key_id(django_settings.JWT_SIGNING_KEY),
    }
    assert claims["sid"] == tokens["session_id"]
    assert claims["typ"] == "access"
    assert claims["iss"] == "bazaar"
    assert claims["aud"] == "bazaar-api"
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert set(claims) == {"typ", "exp", "iat", "jti", "sub", "sid", "iss", "aud"}


def test_signing_key_is_not_the_secret_key(tokens):
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            tokens["access"],
            django_settings.SECRET_KEY,
            algorithms=["HS256"],
            audience="bazaar-api",
        )


def test_alg_none_is_refused(tokens):
    claims = claims_of(tokens["access"])
    header = {**header_of(tokens["access"]), "alg": "none"}

    assert_refused(f"{b64(header)}.{b64(claims)}.")


def test_other_hmac_algorithm_with_the_right_key_is_refused(tokens):
    claims = claims_of(tokens["access"])
    kid = header_of(tokens["access"])["kid"]

    assert_refused(
        forge(claims, key=django_settings.JWT_SIGNING_KEY, alg="HS512", kid=kid)
    )


def test_rs256_token_is_refused(tokens):
    # An asymmetric token (the RS/HS confusion family): never accepted.
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    claims = claims_of(tokens["access"])
    kid = header_of(tokens["access"])["kid"]

    assert_refused(forge(claims, key=pem, alg="RS256", kid=kid))


def test_hs256_signed_with_a_public_key_is_refused(tokens):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = claims_of(tokens["access"])
    kid = header_of(tokens["access"])["kid"]
    # PyJWT itself refuses to HMAC with a PEM key; build the token by hand.
    import hashlib
    import hmac

    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{b64(header)}.{b64(claims)}".encode()
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()

    assert_refused(f"{signing_input.decode()}.{sig}")


def test_tampered_payload_is_refused(tokens):
    head, _, sig = tokens["access"].split(".")
    claims = {**claims_of(tokens["access"]), "sub": "999999"}

    assert_refused(f"{head}.{b64(claims)}.{sig}")


def test_tampered_signature_is_refused(tokens):
    head, body, sig = tokens["access"].split(".")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]

    assert_refused(f"{head}.{body}.{flipped}")


def test_garbage_is_refused(tokens):
    assert_refused("not-a-jwt")
    assert_refused("a.b.c")


def test_wrong_audience_and_issuer_are_refused(tokens):
    claims = claims_of(tokens["access"])
    kid = header_of(tokens["access"])["kid"]
    key = django_settings.JWT_SIGNING_KEY

    assert_refused(forge({**claims, "aud": "other-api"}, key=key, kid=kid))
    assert_refused(forge({**claims, "iss": "someone-else"}, key=key, kid=kid))
    without_aud = {k: v for k, v in claims.items() if k != "aud"}
    assert_refused(forge(without_aud, key=key, kid=kid))


def test_audience_list_naming_this_api_is_accepted(tokens):
    claims = claims_of(tokens["access"])
    kid = header_of(tokens["access"])["kid"]
    key = django_settings.JWT_SIGNING_KEY
    token = forge({**claims, "aud": ["other-api", "bazaar-api"]}, key=key, kid=kid)

    assert me(token).status_code == 200
    assert_refused(forge({**claims, "aud": ["other-api"]}, key=key, kid=kid))


def sign(header_segment: str, payload_segment: str) -> str:
    """A correctly signed token around segments that need not be valid JSON."""
    import hashlib
    import hmac

    signing_input = f"{header_segment}.{payload_segment}"
    mac = hmac.new(
        django_settings.JWT_SIGNING_KEY.encode(), signing_input.encode(), hashlib.sha256
    ).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_signed_but_malformed_segments_are_refused(tokens):
    header = header_of(tokens["access"])
    claims = claims_of(tokens["access"])
    raw = base64.urlsafe_b64encode(b"not json").rstrip(b"=").decode()
    array = base64.urlsafe_b64encode(b"[1,2]").rstrip(b"=").decode()

    assert_refused(sign(b64(header), raw))
    assert_refused(sign(b64(header), array))
    assert_refused(sign(array, b64(claims)))
    assert_refused(sign(b64({**header, "crit": ["exp"]}), b64(claims)))
    missing_sid = {k: v for k, v in claims.items() if k != "sid"}
    assert_refused(sign(b64(header), b64(missing_sid)))
    # Padding, whitespace and characters outside base64url never verify.
    valid = sign(b64(header), b64(claims))
    assert me(valid).status_code == 200
    assert_refused(valid + "=")
    assert_refused(valid.replace(".", ".+", 1))
    assert_refused(valid + ".")


def test_unknown_or_missing_kid_is_refused(tokens):
    claims = claims_of(tokens["access"])
    key = django_settings.JWT_SIGNING_KEY

    assert_refused(forge(claims, key=key, kid="0123456789abcdef"))
    assert_refused(forge(claims, key=key))


def test_refresh_token_is_not_an_access_token(tokens):
    assert_refused(tokens["refresh"])


def test_access_token_is_not_a_refresh_token(api_client, tokens):
    response = api_client.post(
        REFRESH_URL, {"refresh": tokens["access"]}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "Token is invalid.", "code": "token_not_valid"}


def test_expired_token_is_refused(tokens):
    claims = claims_of(tokens["access"])
    kid = header_of(tokens["access"])["kid"]
    past = int(time.time()) - 60
    token = forge(
        {**claims, "iat": past - 900, "exp": past},
        key=django_settings.JWT_SIGNING_KEY,
        kid=kid,
    )

    assert_refused(
        token,
        {
            "detail": "The access token has expired; refresh it.",
            "code": "token_expired",
        },
    )


def test_bad_authorization_header(tokens):
    response = APIClient().get(
        ME_URL, HTTP_AUTHORIZATION=f"Bearer {tokens['access']} extra"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "bad_authorization_header"


def test_revoked_session_is_refused_on_the_next_request(tokens, user):
    from accounts import clock, services

    services.session_revoke(
        user=user,
        session_id=tokens["session_id"],
        client=__import__("accounts.client").client.Client(),
        now=clock.now(),
    )

    assert_refused(
        tokens["access"],
        {"detail": "The session has ended; log in again.", "code": "session_revoked"},
    )


def test_inactive_user_is_refused(tokens, user, django_capture_on_commit_callbacks):
    assert me(tokens["access"]).status_code == 200  # cached as active

    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()  # e.g. staff in the admin

    assert_refused(
        tokens["access"],
        {"detail": "The account is no longer active.", "code": "session_revoked"},
    )


def test_deleted_user_is_refused(tokens, user, django_capture_on_commit_callbacks):
    assert me(tokens["access"]).status_code == 200  # cached

    with django_capture_on_commit_callbacks(execute=True):
        user.delete()

    response = me(tokens["access"])
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"


def test_token_for_a_session_that_never_existed_is_refused(tokens):
    claims = claims_of(tokens["access"])
    kid = header_of(tokens["access"])["kid"]
    token = forge(
        {**claims, "sid": str(uuid.uuid4())},
        key=django_settings.JWT_SIGNING_KEY,
        kid=kid,
    )

    assert_refused(
        token,
        {"detail": "The session has ended; log in again.", "code": "session_revoked"},
    )


def test_token_of_another_users_session_is_refused(api_client, tokens):
    other = UserFactory(email="eve@example.com")
    claims = claims_of(tokens["access"])
    kid = header_of(tokens["access"])["kid"]
    token = forge(
        {**claims, "sub": str(other.pk)}, key=django_settings.JWT_SIGNING_KEY, kid=kid
    )

    assert me(token).status_code == 401


def test_key_rotation_keeps_old_tokens_valid_until_dropped(api_client, user, settings):
    old_key = settings.JWT_SIGNING_KEY
    before = login(api_client).json()

    # rotate: a new current key, the old one kept for verification
    settings.JWT_SIGNING_KEY = "n" * 48
    settings.JWT_PREVIOUS_SIGNING_KEYS = [old_key]
    after = login(api_client).json()

    assert header_of(after["access"])["kid"] == key_id("n" * 48)
    assert me(before["access"]).status_code == 200
    assert me(after["access"]).status_code == 200
    # and an old refresh token rotates into a token signed with the new key
    rotated = api_client.post(
        REFRESH_URL, {"refresh": before["refresh"]}, format="json"
    )
    assert rotated.status_code == 200
    assert header_of(rotated.json()["access"])["kid"] == key_id("n" * 48)

    # once the old key is dropped, its tokens stop verifying
    settings.JWT_PREVIOUS_SIGNING_KEYS = []
    assert me(before["access"]).status_code == 401
    assert me(after["access"]).status_code == 200


# --- Scenario 7: the same refusals on every kind of door -------------------------


def test_exp_and_iat_must_be_numbers_in_the_right_place(tokens):
    claims = claims_of(tokens["access"])
    kid = header_of(tokens["access"])["kid"]
    key = django_settings.JWT_SIGNING_KEY
    never_expires = {k: v for k, v in claims.items() if k != "exp"}
    future = int(time.time()) + 3600

    # A token without exp would live for ever; one "issued" later than now was
    # minted with a skewed or stolen clock.
    assert_refused(forge(never_expires, key=key, kid=kid))
    assert_refused(forge({**claims, "exp": str(claims["exp"])}, key=key, kid=kid))
    assert_refused(
        forge({**claims, "iat": future, "exp": future + 900}, key=key, kid=kid)
    )


STAFF_DOOR = "/api/admin/performance/summary"
OWNER_DOORS = ("/api/orders", "/api/notifications", "/api/auth/sessions")


def hostile_variants(access: str, other_user_id: int) -> dict[str, str]:
    """Each way a token goes bad, built from a genuine ``access`` token."""
    claims = claims_of(access)
    header = header_of(access)
    key = django_settings.JWT_SIGNING_KEY
    head, body, sig = access.split(".")
    past = int(time.time()) - 60
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "alg-none": f"{b64({**header, 'alg': 'none'})}.{body}.",
        "rs256": forge(claims, key=pem, alg="RS256", kid=header["kid"]),
        "expired": forge(
            {**claims, "iat": past - 900, "exp": past}, key=key, kid=header["kid"]
        ),
        "tampered": f"{head}.{b64({**claims, 'sub': str(other_user_id)})}.{sig}",
        "wrong-audience": forge(
            {**claims, "aud": "other-api"}, key=key, kid=header["kid"]
        ),
    }


def test_hostile_tokens_of_staff_are_401_on_staff_and_owner_doors(api_client):
    # given a staff member's genuine token, which opens the staff door
    staff = UserFactory(email="sam@example.com", is_staff=True)
    shopper = UserFactory(email="bob@example.com")
    access = login(api_client, staff.email).json()["access"]
    assert APIClient().get(STAFF_DOOR, **bearer(access)).status_code == 200
    # when each bad variant knocks on a staff door and on the owner doors
    answers = {
        (name, door): APIClient().get(door, **bearer(token)).status_code
        for name, token in hostile_variants(access, shopper.pk).items()
        for door in (STAFF_DOOR, *OWNER_DOORS)
    }
    # then every one is 401: never a 403 that admits the token, never a 200
    assert set(answers.values()) == {401}, answers


def test_a_revoked_or_deleted_account_is_401_on_every_door(
    api_client, django_capture_on_commit_callbacks
):
    # given two staff sessions, one revoked by logout, one of a deleted account
    kept = UserFactory(email="kept@example.com", is_staff=True)
    gone = UserFactory(email="gone@example.com", is_staff=True)
    revoked = login(api_client, kept.email).json()
    deleted = login(api_client, gone.email).json()
    logout = APIClient().post("/api/auth/logout", **bearer(revoked["access"]))
    assert logout.status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        gone.delete()
    # when their tokens knock
    for tokens in (revoked, deleted):
        for door in (STAFF_DOOR, *OWNER_DOORS):
            response = APIClient().get(door, **bearer(tokens["access"]))
            # then 401 with the session's code
            assert (response.status_code, response.json()["code"]) == (
                401,
                "session_revoked",
            ), door
        refreshed = api_client.post(
            REFRESH_URL, {"refresh": tokens["refresh"]}, format="json"
        )
        assert refreshed.status_code == 401
