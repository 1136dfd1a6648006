"""The user admin: pages render, and emails are stored lower-case."""

import pytest
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The management form of the (read-only) sessions inline on the change page.
SESSIONS_INLINE = {
    "auth_sessions-TOTAL_FORMS": "0",
    "auth_sessions-INITIAL_FORMS": "0",
    "auth_sessions-MIN_NUM_FORMS": "0",
    "auth_sessions-MAX_NUM_FORMS": "0",
}


def test_changelist_renders(admin_client):
    UserFactory.create_batch(3)

    response = admin_client.get(reverse("admin:accounts_user_changelist"))

    assert response.status_code == 200


def test_changelist_search_and_filters_render(admin_client):
    UserFactory(email="needle@example.com", is_seller=True)

    response = admin_client.get(
        reverse("admin:accounts_user_changelist"),
        {"q": "needle", "is_seller__exact": "1"},
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list.values_list("email", flat=True)) == [
        "needle@example.com"
    ]


def test_change_page_renders(admin_client):
    user = UserFactory()

    response = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk]))

    assert response.status_code == 200


def test_add_page_renders(admin_client):
    response = admin_client.get(reverse("admin:accounts_user_add"))

    assert response.status_code == 200


def test_add_form_stores_the_email_lower_cased(admin_client):
    # when
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "Mixed.Case@Example.COM",
            "usable_password": "true",
            "password1": "a-long-unusual-passphrase-42",
            "password2": "a-long-unusual-passphrase-42",
        },
    )

    # then
    assert response.status_code == 302
    user = User.objects.get(email="mixed.case@example.com")
    assert user.check_password("a-long-unusual-passphrase-42")


def test_add_form_rejects_an_email_taken_in_another_case(admin_client):
    UserFactory(email="taken@example.com")

    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "TAKEN@example.com",
            "usable_password": "true",
            "password1": "a-long-unusual-passphrase-42",
            "password2": "a-long-unusual-passphrase-42",
        },
    )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["email"]
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_change_form_stores_the_email_lower_cased(admin_client):
    user = UserFactory(email="before@example.com")

    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[user.pk]),
        {
            "email": "After@Example.COM",
            "first_name": "Ann",
            "last_name": "Lee",
            "is_active": "on",
            **SESSIONS_INLINE,
        },
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "after@example.com"


# --- Sessions and the audit log ---------------------------------------------------


def _login_session(email: str) -> str:
    from rest_framework.test import APIClient

    from tests.accounts.conftest import login

    return login(APIClient(), email=email).json()["session_id"]


def test_change_page_shows_the_users_sessions_inline(admin_client):
    user = UserFactory(email="ada@example.com")
    session_id = _login_session(user.email)

    response = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk]))

    assert response.status_code == 200
    assert session_id in response.content.decode()


def test_sessions_admin_revoke_action(admin_client):
    from accounts.models import SecurityEvent, Session

    user = UserFactory(email="ada@example.com")
    first = _login_session(user.email)
    second = _login_session(user.email)

    response = admin_client.post(
        reverse("admin:accounts_session_changelist"),
        {"action": "revoke_selected", "_selected_action": [first]},
    )

    assert response.status_code == 302
    assert Session.objects.get(pk=first).revoke_reason == "admin_revoked"
    assert Session.objects.get(pk=second).revoked_at is None
    event = SecurityEvent.objects.get(kind="session_revoked")
    assert (str(event.session_id), event.user_id) == (first, user.pk)
    assert (
        admin_client.get(reverse("admin:accounts_session_changelist")).status_code
        == 200
    )
    assert (
        admin_client.get(
            reverse("admin:accounts_session_change", args=[first])
        ).status_code
        == 200
    )


def test_security_events_are_read_only(admin_client):
    from accounts.models import SecurityEvent

    user = UserFactory(email="ada@example.com")
    _login_session(user.email)
    event = SecurityEvent.objects.get()

    listing = admin_client.get(reverse("admin:accounts_securityevent_changelist"))
    detail = admin_client.get(
        reverse("admin:accounts_securityevent_change", args=[event.pk])
    )
    add = admin_client.get(reverse("admin:accounts_securityevent_add"))
    edit = admin_client.post(
        reverse("admin:accounts_securityevent_change", args=[event.pk]),
        {"kind": "logout"},
    )
    delete = admin_client.post(
        reverse("admin:accounts_securityevent_delete", args=[event.pk]), {"post": "yes"}
    )

    assert (listing.status_code, detail.status_code) == (200, 200)
    assert (add.status_code, edit.status_code, delete.status_code) == (403, 403, 403)
    assert SecurityEvent.objects.get().kind == "login"
