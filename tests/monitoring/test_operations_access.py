"""Every route of the Operations API is staff only: generated from the URL
conf, so a route added later is covered without touching this file."""

import pytest
from django.urls import URLPattern
from rest_framework.test import APIClient

from monitoring.api import urls
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PREFIX = "/api/admin/performance/"


def _routes() -> list[tuple[str, str]]:
    """(method, path) for every view method under the prefix."""
    routes = []
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        # Parameterless routes only so far; a converter would need a sample value.
        assert "<" not in str(pattern.pattern), pattern
        view_class = pattern.callback.view_class
        for method in view_class.http_method_names:
            if method not in ("options", "head") and hasattr(view_class, method):
                routes.append((method, PREFIX + str(pattern.pattern)))
    return routes


ROUTES = _routes()


def test_the_routes_are_found():
    # then reads and writes alike are listed
    assert ("get", PREFIX + "dashboard/") in ROUTES
    assert ("post", PREFIX + "jobs/retry/") in ROUTES
    assert len(ROUTES) >= 14


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_is_401_with_a_challenge(method, path):
    # when an anonymous caller tries the route
    response = getattr(APIClient(), method)(path, {}, format="json")

    # then it is told to authenticate
    assert response.status_code == 401
    assert response["WWW-Authenticate"]
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_signed_in_customer_is_403(method, path):
    # given a signed-in user who is not staff
    client = APIClient()
    client.force_authenticate(UserFactory())

    # when they try the route
    response = getattr(client, method)(path, {}, format="json")

    # then it is refused, and nothing is cached
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert response["Cache-Control"] == "private, no-store"
