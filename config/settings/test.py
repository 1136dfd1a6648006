"""Test settings: the real PostgreSQL and Redis, on databases of their own."""

from config.settings.base import *  # noqa: F403
from config.settings.base import REDIS_URL, env, redis_db_url

# Dedicated Redis databases so a test run never touches development data
# (0-2) or benchmarks (3-5). Two runs side by side take different blocks of
# three (TEST_REDIS_DB_BASE 8 or 12) and different TEST_DATABASE_NAMEs.
TEST_REDIS_URL = env.str("TEST_REDIS_URL", default=REDIS_URL)
TEST_REDIS_DB_BASE = env.int("TEST_REDIS_DB_BASE", default=8)
CELERY_BROKER_URL = redis_db_url(TEST_REDIS_URL, TEST_REDIS_DB_BASE)
CACHE_URL = redis_db_url(TEST_REDIS_URL, TEST_REDIS_DB_BASE + 1)
SECURITY_CACHE_URL = redis_db_url(TEST_REDIS_URL, TEST_REDIS_DB_BASE + 2)
CACHES["default"]["LOCATION"] = CACHE_URL
CACHES["security"]["LOCATION"] = SECURITY_CACHE_URL

# Hashing cost is not under test here; fast hashes keep factories quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEBUG = False
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}

# Static files are not built for tests: plain storage, no WhiteNoise.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise.")]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Job types used only by the tests (tests/jobs/handlers.py), in every process.
JOB_EXTRA_MODULES = ["tests.jobs.handlers"]

# The relay's start-up jobs would land in tests' job tables.
JOB_STARTUP_JOBS: list[str] = []
