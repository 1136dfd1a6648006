"""Fixtures for accounts: a movable clock, logged-in clients, the real SMTP
sink, worker and relay of the job platform (for the emailed codes)."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.jobs.conftest import (  # noqa: F401  (fixtures)
    purge_broker,
    relay,
    smtp_sink,
    thread_worker,
)

LOGIN_URL = "/api/auth/login"
REFRESH_URL = "/api/auth/refresh"
ME_URL = "/api/auth/me"


class Clock:
    """Stands in for ``accounts.clock.now``; tests move it forward."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr("accounts.clock.now", frozen)
    return frozen


@pytest.fixture
def user():
    return UserFactory(email="ada@example.com")


def login(
    client: APIClient, email: str = "ada@example.com", password: str = DEFAULT_PASSWORD
) -> Any:
    return client.post(LOGIN_URL, {"email": email, "password": password}, format="json")


@pytest.fixture
def tokens(api_client, user) -> dict[str, str]:
    """A fresh login of ``user``: the token pair answer."""
    response = login(api_client)
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


@pytest.fixture
def authed(tokens) -> APIClient:
    """An APIClient sending ``tokens``' access token."""
    client = APIClient()
    client.credentials(**bearer(tokens["access"]))
    return client
