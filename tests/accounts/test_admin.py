"""The user admin: pages render, and emails are stored lower-case."""

import pytest
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


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
        },
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "after@example.com"
