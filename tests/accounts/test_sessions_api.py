"""Login, rotation, reuse detection, expiry, logout and session management."""

import uuid
from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from accounts.enums import RevokeReason, SecurityEventKind
from accounts.models import SecurityEvent, Session
from jobs.enums import Priority
from jobs.models import JobRecord
from tests.accounts.conftest import LOGIN_URL, ME_URL, REFRESH_URL, bearer, login
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def refresh(client: APIClient, token: str):
    return client.post(REFRESH_URL, {"refresh": token}, format="json")


def me(access: str):
    return APIClient().get(ME_URL, **bearer(access))


def test_login_answers_the_token_pair_and_opens_a_session(api_client, user, clock):
    # when
    response = login(api_client)

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access",
        "refresh",
        "session_id",
        "access_expires_at",
        "refresh_expires_at",
    }
    session = Session.objects.get(pk=body["session_id"])
    assert session.user == user
    assert session.generation == 1
    assert session.created_at == clock.at
    assert session.idle_expires_at == clock.at + timedelta(days=7)
    assert session.expires_at == clock.at + timedelta(days=30)
    assert parse_datetime(body["access_expires_at"]) == clock.at + timedelta(minutes=15)
    assert parse_datetime(body["refresh_expires_at"]) == clock.at + timedelta(days=7)
    assert response["Cache-Control"] == "private, no-store"
    # the database never holds a token, only the hash of its id
    assert body["refresh"] not in session.refresh_jti_hash
    assert (
        SecurityEvent.objects.filter(
            kind=SecurityEventKind.LOGIN, user=user, session=session
        ).count()
        == 1
    )


def test_wrong_password_is_401_invalid_credentials(api_client, user):
    response = login(api_client, password="not-the-password")

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Invalid email or password.",
        "code": "invalid_credentials",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert SecurityEvent.objects.get(user=user).kind == SecurityEventKind.LOGIN_FAILED


def test_login_email_is_case_insensitive(api_client, user):
    assert login(api_client, email="ADA@Example.com").status_code == 200


def test_access_token_authenticates(tokens, user):
    response = me(tokens["access"])

    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "email": "ada@example.com",
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_verified": False,
        "is_seller": False,
        "date_joined": response.json()["date_joined"],
    }


def test_anonymous_is_401_with_www_authenticate(api_client):
    response = api_client.get(ME_URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert set(response.json()) == {"detail", "code"}
    assert response.json()["code"] == "not_authenticated"


def test_refresh_rotates_and_spends_the_presented_token(api_client, tokens, clock):
    # given
    clock.advance(minutes=5)

    # when
    response = refresh(api_client, tokens["refresh"])

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["refresh"] != tokens["refresh"]
    assert body["access"] != tokens["access"]
    assert body["session_id"] == tokens["session_id"]
    session = Session.objects.get(pk=body["session_id"])
    assert session.generation == 2
    assert session.idle_expires_at == clock.at + timedelta(days=7)
    assert me(body["access"]).status_code == 200
    # and the new refresh token works in turn
    assert refresh(api_client, body["refresh"]).status_code == 200


def test_same_refresh_within_grace_gets_the_same_answer(api_client, tokens, clock):
    first = refresh(api_client, tokens["refresh"])
    clock.advance(seconds=9)

    again = refresh(api_client, tokens["refresh"])

    assert again.status_code == 200
    assert again.json() == first.json()
    assert Session.objects.get(pk=tokens["session_id"]).generation == 2


def test_grace_answer_is_stored_encrypted(api_client, tokens):
    from django_redis import get_redis_connection

    answer = refresh(api_client, tokens["refresh"]).json()

    redis = get_redis_connection("security")
    [key] = [k for k in redis.keys("*") if b"acc:grace:" in k]
    stored = redis.get(key)
    assert answer["refresh"].encode() not in stored
    assert answer["access"].encode() not in stored
    assert 0 < redis.ttl(key) <= 10


def test_spent_refresh_after_grace_revokes_the_whole_family(api_client, tokens, clock):
    # given the token was rotated, and its successor too
    second = refresh(api_client, tokens["refresh"]).json()
    third = refresh(api_client, second["refresh"]).json()
    assert me(third["access"]).status_code == 200
    clock.advance(seconds=11)

    # when the first (spent) token comes back
    response = refresh(api_client, tokens["refresh"])

    # then
    assert response.status_code == 401
    assert response.json() == {
        "detail": "This refresh token was already used; the session has ended.",
        "code": "token_reused",
    }
    session = Session.objects.get(pk=tokens["session_id"])
    assert session.revoke_reason == RevokeReason.TOKEN_REUSED
    assert session.revoked_at == clock.at
    # the newest refresh token and a live access token of the session are dead
    newest = refresh(api_client, third["refresh"])
    assert newest.status_code == 401
    assert newest.json()["code"] == "session_revoked"
    live_access = me(third["access"])
    assert live_access.status_code == 401
    assert live_access.json()["code"] == "session_revoked"
    # audited, and the owner is alerted with a CRITICAL email
    assert (
        SecurityEvent.objects.filter(
            kind=SecurityEventKind.TOKEN_REUSED, session=session
        ).count()
        == 1
    )
    [alert] = JobRecord.objects.filter(
        type="email.send", payload__template="security_alert"
    )
    assert alert.priority == Priority.CRITICAL
    assert alert.payload["to"] == "ada@example.com"


def test_an_older_generation_is_reuse_even_within_grace(api_client, tokens):
    second = refresh(api_client, tokens["refresh"]).json()
    refresh(api_client, second["refresh"])

    response = refresh(api_client, tokens["refresh"])  # two generations back

    assert response.status_code == 401
    assert response.json()["code"] == "token_reused"


def test_reuse_ends_only_that_session(api_client, user, clock):
    a = login(api_client).json()
    b = login(api_client).json()
    refresh(api_client, a["refresh"])
    clock.advance(seconds=11)

    assert refresh(api_client, a["refresh"]).json()["code"] == "token_reused"

    assert me(b["access"]).status_code == 200


def test_reuse_with_grace_disabled(api_client, tokens, settings):
    settings.REFRESH_GRACE_SECONDS = 0
    assert refresh(api_client, tokens["refresh"]).status_code == 200

    response = refresh(api_client, tokens["refresh"])

    assert response.status_code == 401
    assert response.json()["code"] == "token_reused"


def test_idle_expiry(api_client, tokens, clock):
    # given a week without activity
    clock.advance(days=7)

    response = refresh(api_client, tokens["refresh"])

    assert response.status_code == 401
    assert response.json() == {
        "detail": "The session has expired; log in again.",
        "code": "session_expired",
    }


def test_refreshing_keeps_the_session_alive_until_the_absolute_limit(
    api_client, tokens, clock
):
    current = tokens
    for _ in range(4):  # 4 x 6 days: never idle for a week, 24 days in all
        clock.advance(days=6)
        response = refresh(api_client, current["refresh"])
        assert response.status_code == 200
        current = response.json()
    # the idle deadline never passes the absolute one
    clock.advance(days=6)  # day 30
    response = refresh(api_client, current["refresh"])

    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_refresh_expires_at_is_capped_by_the_absolute_deadline(
    api_client, tokens, clock
):
    current = tokens
    for _ in range(4):
        clock.advance(days=6)
        current = refresh(api_client, current["refresh"]).json()
    session = Session.objects.get(pk=tokens["session_id"])

    assert session.idle_expires_at == session.expires_at
    assert parse_datetime(current["refresh_expires_at"]) == session.expires_at


def test_access_of_an_idle_expired_session_is_refused(tokens, clock, settings):
    settings.ACCESS_TOKEN_MINUTES = 60 * 24 * 8  # outlives the idle deadline
    fresh = login(APIClient()).json()
    clock.advance(days=7, seconds=1)

    response = me(fresh["access"])

    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_expired_access_token_is_refused(tokens, clock):
    clock.advance(minutes=15)

    response = me(tokens["access"])

    assert response.status_code == 401
    assert response.json() == {
        "detail": "The access token has expired; refresh it.",
        "code": "token_expired",
    }


def test_activity_extends_the_idle_deadline_at_most_once_a_minute(tokens, clock):
    session = Session.objects.get(pk=tokens["session_id"])
    start = session.idle_expires_at

    clock.advance(seconds=30)
    assert me(tokens["access"]).status_code == 200
    session.refresh_from_db()
    assert session.idle_expires_at == start  # less than a minute: not written

    clock.advance(seconds=45)
    assert me(tokens["access"]).status_code == 200
    session.refresh_from_db()
    assert session.last_activity_at == clock.at
    assert session.idle_expires_at == clock.at + timedelta(days=7)
    written = session.idle_expires_at

    clock.advance(seconds=20)
    assert me(tokens["access"]).status_code == 200
    session.refresh_from_db()
    assert session.idle_expires_at == written


def test_authenticating_costs_no_query_once_cached(tokens, django_assert_num_queries):
    from rest_framework.test import APIRequestFactory

    from accounts.authentication import SessionJWTAuthentication

    factory = APIRequestFactory()
    auth = SessionJWTAuthentication()
    request = factory.get("/api/auth/me", **bearer(tokens["access"]))
    auth.authenticate(request)  # the first sight of the session may load it

    with django_assert_num_queries(0):
        user, token = auth.authenticate(
            factory.get("/api/auth/me", **bearer(tokens["access"]))
        )

    assert user.email == "ada@example.com"
    assert token["sid"] == tokens["session_id"]


def test_me_costs_one_query_loading_the_user(tokens, django_assert_num_queries):
    me(tokens["access"])  # warm the session cache

    with django_assert_num_queries(1):
        assert me(tokens["access"]).status_code == 200


def test_logout_revokes_the_current_session(api_client, tokens, user):
    other = login(api_client).json()
    client = APIClient()
    client.credentials(**bearer(tokens["access"]))

    response = client.post("/api/auth/logout", {}, format="json")

    assert response.status_code == 204
    assert me(tokens["access"]).status_code == 401
    assert refresh(api_client, tokens["refresh"]).json()["code"] == "session_revoked"
    assert me(other["access"]).status_code == 200
    assert Session.objects.get(pk=tokens["session_id"]).revoke_reason == "logout"
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.LOGOUT).count() == 1


def test_logout_all_revokes_every_session_and_cookie_sessions(
    api_client, tokens, user, client
):
    other = login(api_client).json()
    client.force_login(user)  # a Django (admin/browsable API) session
    assert client.get(ME_URL).status_code == 200

    response = APIClient().post("/api/auth/logout-all", **bearer(tokens["access"]))

    assert response.status_code == 204
    assert me(tokens["access"]).status_code == 401
    assert me(other["access"]).status_code == 401
    assert refresh(api_client, other["refresh"]).status_code == 401
    assert client.get(ME_URL).status_code == 401
    assert set(Session.objects.values_list("revoke_reason", flat=True)) == {
        "logout_all"
    }


def test_sessions_list_shows_live_sessions_and_the_current_one(api_client, tokens):
    other = login(api_client).json()
    dead = login(api_client).json()
    APIClient().post("/api/auth/logout", **bearer(dead["access"]))

    response = APIClient().get("/api/auth/sessions", **bearer(tokens["access"]))

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["id"], r["current"]) for r in results] == [
        (other["session_id"], False),
        (tokens["session_id"], True),
    ]
    assert set(results[0]) == {
        "id",
        "user_agent",
        "ip",
        "created_at",
        "last_activity_at",
        "idle_expires_at",
        "expires_at",
        "current",
    }
    assert results[0]["ip"] == "127.0.0.1"


def test_revoke_one_session(api_client, tokens):
    other = login(api_client).json()

    response = APIClient().delete(
        f"/api/auth/sessions/{other['session_id']}", **bearer(tokens["access"])
    )

    assert response.status_code == 204
    assert me(other["access"]).status_code == 401
    assert me(tokens["access"]).status_code == 200
    assert SecurityEvent.objects.filter(
        kind=SecurityEventKind.SESSION_REVOKED, session_id=other["session_id"]
    ).exists()


def test_revoking_someone_elses_session_is_404(api_client, tokens):
    stranger = UserFactory(email="eve@example.com")
    theirs = login(api_client, email=stranger.email).json()

    response = APIClient().delete(
        f"/api/auth/sessions/{theirs['session_id']}", **bearer(tokens["access"])
    )
    missing = APIClient().delete(
        f"/api/auth/sessions/{uuid.uuid4()}", **bearer(tokens["access"])
    )

    assert response.status_code == 404
    assert missing.status_code == 404
    assert me(theirs["access"]).status_code == 200


def test_profile_update_and_validation(authed):
    response = authed.patch(ME_URL, {"first_name": "Ada"}, format="json")
    assert response.status_code == 200
    assert response.json()["first_name"] == "Ada"
    assert authed.get(ME_URL).json()["first_name"] == "Ada"

    unknown = authed.patch(ME_URL, {"email": "x@example.com"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json() == {"email": ["Unknown field."]}
    overlong = authed.patch(ME_URL, {"last_name": "x" * 151}, format="json")
    assert overlong.status_code == 400
    assert list(overlong.json()) == ["last_name"]


def test_delete_me_anonymises_revokes_and_keeps_orders(api_client, tokens, user):
    from tests.factories import OrderFactory

    order = OrderFactory(user=user)
    other = login(api_client).json()
    client = APIClient()
    client.credentials(**bearer(tokens["access"]))

    wrong = client.delete(ME_URL, {"password": "nope"}, format="json")
    assert wrong.status_code == 400
    assert list(wrong.json()) == ["password"]

    response = client.delete(ME_URL, {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.email == f"deleted-{user.pk}@deleted.invalid"
    assert (user.first_name, user.last_name, user.is_active) == ("", "", False)
    assert not user.has_usable_password()
    assert user.deleted_at is not None
    order.refresh_from_db()
    assert order.user_id == user.pk
    assert me(other["access"]).status_code == 401
    assert set(Session.objects.filter(user=user).values_list("ip", "user_agent")) == {
        (None, "")
    }
    assert login(api_client).status_code == 401


def test_login_body_validation(api_client):
    assert login(api_client, email="not-an-email").status_code == 400
    response = api_client.post(
        LOGIN_URL,
        {"email": "a@example.com", "password": "x", "remember": True},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"remember": ["Unknown field."]}
    overlong = login(api_client, password="x" * 257)
    assert overlong.status_code == 400
    assert list(overlong.json()) == ["password"]


def test_audit_rows_carry_address_and_user_agent(user):
    client = APIClient(REMOTE_ADDR="203.0.113.5", HTTP_USER_AGENT="curl/8.5.0")
    tokens = login(client).json()
    refresh(client, tokens["refresh"])

    rows = list(
        SecurityEvent.objects.order_by("created_at", "id").values_list(
            "kind", "ip", "user_agent"
        )
    )

    assert rows == [
        ("login", "203.0.113.5", "curl/8.5.0"),
        ("refresh", "203.0.113.5", "curl/8.5.0"),
    ]
    assert Session.objects.get().ua_family == "curl"


def test_refresh_of_a_deactivated_users_session_is_refused(api_client, tokens, user):
    user.is_active = False
    user.save()

    response = refresh(api_client, tokens["refresh"])

    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"


def test_refresh_works_with_redis_down(api_client, tokens, settings):
    from tests.subprocess_env import closed_port

    settings.CACHES = {
        **settings.CACHES,
        "security": {
            **settings.CACHES["security"],
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        },
    }

    response = refresh(api_client, tokens["refresh"])

    assert response.status_code == 200
    assert me(response.json()["access"]).status_code == 200
    # without the stored answer a repeat cannot be served: 503, no revocation
    again = refresh(api_client, tokens["refresh"])
    assert again.status_code == 503
    assert again.json()["code"] == "service_unavailable"
    assert Session.objects.get().revoked_at is None


def test_garbage_refresh_token_is_401(api_client):
    response = refresh(api_client, "not-a-token")

    assert response.status_code == 401
    assert response.json() == {"detail": "Token is invalid.", "code": "token_not_valid"}
