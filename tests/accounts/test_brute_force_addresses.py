"""Brute force from many client addresses (resilience scenario 9, timing-free):
the lock is per account whatever the address, and the address is the
connection's (REMOTE_ADDR), never a forged X-Forwarded-For."""

import pytest
from rest_framework.test import APIClient

from accounts.enums import SecurityEventKind
from accounts.models import SecurityEvent
from tests.accounts.conftest import login
from tests.factories import DEFAULT_PASSWORD
from tests.subprocess_env import closed_port

pytestmark = pytest.mark.django_db

THRESHOLD = 5
WRONG = "wrong-password"


def attempt(n: int, password: str = WRONG) -> int:
    client = APIClient(
        REMOTE_ADDR=f"192.0.2.{n % 250 + 1}",
        HTTP_X_FORWARDED_FOR=f"10.9.0.{n % 250 + 1}",
    )
    return login(client, password=password).status_code


def test_a_hundred_addresses_are_locked_out_after_five(user, clock, settings):
    settings.LOGIN_RATE_PER_IP = 100_000  # the per-address limit is not the point

    statuses = [attempt(n) for n in range(100)]

    assert statuses[:THRESHOLD] == [401] * THRESHOLD
    assert statuses[THRESHOLD:] == [429] * (100 - THRESHOLD)
    # the right password from yet another address is refused while locked
    assert attempt(200, password=DEFAULT_PASSWORD) == 429
    clock.advance(minutes=settings.LOGIN_LOCK_MINUTES)
    assert login(APIClient(REMOTE_ADDR="192.0.2.251")).status_code == 200


def test_the_recorded_address_is_remote_addr_not_x_forwarded_for(user, settings):
    settings.LOGIN_RATE_PER_IP = 100_000

    for n in range(THRESHOLD):
        attempt(n)

    ips = set(
        SecurityEvent.objects.filter(
            user=user, kind=SecurityEventKind.LOGIN_FAILED
        ).values_list("ip", flat=True)
    )
    assert ips == {f"192.0.2.{n + 1}" for n in range(THRESHOLD)}


def test_a_lock_taken_with_redis_down_survives_an_empty_redis_coming_back(
    user, clock, settings
):
    healthy = settings.CACHES
    settings.CACHES = {
        **healthy,
        "security": {
            **healthy["security"],
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        },
    }
    for n in range(THRESHOLD):
        assert attempt(n) == 401
    assert attempt(THRESHOLD, password=DEFAULT_PASSWORD) == 429

    # Redis answers again, empty (restarted without persistence).
    settings.CACHES = healthy

    assert attempt(THRESHOLD + 1, password=DEFAULT_PASSWORD) == 429
