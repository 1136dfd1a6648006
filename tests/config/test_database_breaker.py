"""The connection circuit breaker (config/database): an unreachable database
costs one wait, then answers at once, and recovery replaces the pool."""

import copy
import socket

import psycopg
import pytest
from django.db import connections

from config.database.base import DatabaseWrapper, breaker_for

ALIAS = "breaker-test"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket is


@pytest.fixture
def unreachable(settings):
    """A second alias on the test database's server, but a closed port."""
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict["PORT"] = _closed_port()
    settings_dict["OPTIONS"]["pool"] = {"min_size": 0, "max_size": 2, "timeout": 0.3}
    connections.settings[ALIAS] = settings_dict
    wrapper = connections[ALIAS]
    assert isinstance(wrapper, DatabaseWrapper)
    yield wrapper
    wrapper.close()
    wrapper.close_pool()
    del connections[ALIAS]
    del connections.settings[ALIAS]
    breaker_for(ALIAS).reset()


def _connect(wrapper: DatabaseWrapper) -> str:
    """What Django's connect() does first: get a connection from the backend
    (called directly: pytest-django guards only the usual entry points)."""
    try:
        raw = wrapper.get_new_connection(wrapper.get_connection_params())
    except psycopg.OperationalError as exc:
        return str(exc)
    try:
        assert raw.execute("SELECT 1").fetchone() == (1,)
    finally:
        wrapper.pool.putconn(raw)
    return "connected"


def test_after_a_failed_connect_requests_fail_at_once_then_recover(
    unreachable, settings
):
    settings.DB_BREAKER_SECONDS = 60
    breaker = breaker_for(ALIAS)

    first = _connect(unreachable)
    assert first != "connected" and "circuit breaker" not in first
    assert breaker.tripped and breaker.is_open()
    # While open: no wait on the pool, no connection attempt.
    assert "circuit breaker open" in _connect(unreachable)

    # The window over, the next request probes directly: still refused.
    settings.DB_BREAKER_SECONDS = 0
    breaker.open_until = 0.0
    probe = _connect(unreachable)
    assert "circuit breaker" not in probe and probe != "connected"
    assert breaker.tripped
    old_pool = unreachable.pool

    # The server is back (the real port): the probe passes, the pool that
    # knew only the dead server is replaced, and the breaker closes.
    unreachable.settings_dict["PORT"] = connections["default"].settings_dict["PORT"]
    assert _connect(unreachable) == "connected"
    assert unreachable.pool is not old_pool
    assert not breaker.tripped


@pytest.mark.django_db(transaction=True)
def test_an_open_breaker_is_a_503_service_unavailable(client, settings):
    """What a client sees while the default database's breaker is open: the
    API's JSON 503 (a search no cache holds needs the database) and /ready."""
    breaker = breaker_for("default")
    connections["default"].close()
    settings.DB_BREAKER_SECONDS = 60
    breaker.trip(psycopg.OperationalError("test outage"))
    try:
        search = client.get("/api/products/?search=breaker-outage")
        ready = client.get("/ready")
    finally:
        breaker.reset()
    after = client.get("/api/products/?search=breaker-outage")
    assert after.status_code == 200, "the 503 was not cached"
    assert search.status_code == 503
    assert search.json()["code"] == "service_unavailable"
    assert search["Retry-After"]
    assert ready.status_code == 503
