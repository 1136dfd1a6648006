"""Argon2id tuned to OWASP's figure, with a per-process cap on concurrent hashes.

Django's default Argon2 parameters take about 100 MiB and 8 lanes per hash; a
login flood would exhaust a small machine's memory and cores. OWASP's second
recommended profile (19 MiB, t=2, p=1) keeps one hash cheap, and the semaphore
bounds how many run at once in one process (threads of a gthread/ASGI worker).
"""

import threading
from functools import cache

from django.conf import settings
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    check_password,
    get_hasher,
    make_password,
)
from django.utils.crypto import get_random_string

from accounts.exceptions import ServiceUnavailable

_semaphore_lock = threading.Lock()
_semaphore: threading.BoundedSemaphore | None = None


def hash_slots() -> threading.BoundedSemaphore:
    """The process-wide semaphore, sized by ``PASSWORD_HASH_CONCURRENCY``."""
    global _semaphore
    if _semaphore is None:
        with _semaphore_lock:
            if _semaphore is None:
                _semaphore = threading.BoundedSemaphore(
                    settings.PASSWORD_HASH_CONCURRENCY
                )
    return _semaphore


class _Slot:
    """Hold one hashing slot; waiting too long answers 503 rather than piling up."""

    def __enter__(self) -> None:
        if not hash_slots().acquire(timeout=settings.PASSWORD_HASH_WAIT_SECONDS):
            raise ServiceUnavailable("Too many sign-ins at once; try again shortly.")

    def __exit__(self, *exc: object) -> None:
        hash_slots().release()


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id, 19 MiB, t=2, p=1. Same ``argon2`` prefix as Django's hasher,
    so its hashes verify here and are re-encoded on the next login."""

    time_cost = 2
    memory_cost = 19456  # KiB
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        with _Slot():
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with _Slot():
            return super().verify(password, encoded)


@cache
def _dummy_hash(algorithm: str) -> str:
    return make_password(get_random_string(24), hasher=algorithm)


def password_check_dummy(password: str) -> None:
    """Spend what checking a real password costs (unknown emails must not be
    faster than known ones)."""
    check_password(password, _dummy_hash(get_hasher().algorithm))
