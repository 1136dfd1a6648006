"""Complete settings, driven by the environment (see ``.env.example``).

Every knob has a development-friendly default; ``production.py`` removes the
defaults that must never reach production (secrets) and tightens the rest.
"""

import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from kombu import Exchange, Queue

from monitoring.logging import build_logging

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env (written by `make run`) is read if present; the real environment
# wins. Deployments that must ignore stray files set DJANGO_READ_DOT_ENV_FILE=false.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=True):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def redis_db_url(base: str, db: int) -> str:
    """Return the redis:// URL ``base`` pointing at ``db`` (any database
    already named in ``base`` is replaced)."""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{db}"))


# --- Core -------------------------------------------------------------------
SECRET_KEY = env.str(
    "SECRET_KEY", default="dev-insecure-secret-key-change-me-0123456789abcdef"
)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Browser origins (scheme://host[:port]) allowed to call /api/ cross-origin
# (config/cors.py); empty: no CORS headers at all.
CORS_ALLOWED_ORIGINS = [
    origin.rstrip("/") for origin in env.list("CORS_ALLOWED_ORIGINS", default=[])
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "django_celery_beat",
    "django_prometheus",
    "accounts",
    "catalog",
    "orders",
    "jobs",
    "monitoring",
]

MIDDLEWARE = [
    "monitoring.middleware.RequestIdMiddleware",
    "monitoring.middleware.RequestLogMiddleware",
    # Before anything that may answer early, so a 413 or 304 carries it too.
    "config.cors.CorsMiddleware",
    "config.api.middleware.BodySizeLimitMiddleware",
    "config.api.middleware.OptionalTrailingSlashMiddleware",
    # Catalog revalidations that end in 304 are answered here, before the rest.
    "catalog.api.middleware.CatalogRevalidationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's and the browsable API's static files from gunicorn.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# API.md: trailing slashes are optional; URL patterns accept both, so no redirects.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_URL = env.str("MEDIA_URL", default="media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
# Django itself serves MEDIA_ROOT (product images) for `make run`; production
# turns this off and serves media from the web server or object storage.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
# Files under MEDIA_ROOT/tmp/ (accepted uploads awaiting their job) older than
# this are deleted by the cleanup-tmp schedule.
TMP_MAX_AGE_HOURS = env.int("TMP_MAX_AGE_HOURS", default=24)
# Product image uploads (catalog/images.py): the largest file and the most
# pixels (width x height) accepted; both are checked again by the image job.
PRODUCT_IMAGE_MAX_BYTES = env.int("PRODUCT_IMAGE_MAX_BYTES", default=10 * 1024 * 1024)
PRODUCT_IMAGE_MAX_PIXELS = env.int("PRODUCT_IMAGE_MAX_PIXELS", default=40_000_000)
# Sellers are alerted (email + in-app) once each time a product's stock falls
# from at least this to below it (catalog/services.py, notifications.low_stock).
LOW_STOCK_THRESHOLD = env.int("LOW_STOCK_THRESHOLD", default=5)

# --- Database ---------------------------------------------------------------
# PostgreSQL only. psycopg 3's pool keeps connections warm per process; the pool
# replaces CONN_MAX_AGE (Django refuses both at once).
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/bazaar"
    )
}
# Django's backend with a circuit breaker on new connections (config/database);
# with DB_METRICS built on django-prometheus's subclass (works with psycopg 3
# and its pool), which counts connections, statements and their duration.
DATABASES["default"]["ENGINE"] = "config.database"
DB_METRICS = env.bool("DB_METRICS", default=False)
# Seconds requests needing the database fail at once (503) after a failed
# connect, instead of each waiting DB_POOL_TIMEOUT.
DB_BREAKER_SECONDS = env.float("DB_BREAKER_SECONDS", default=1.0)
DB_POOL_MIN = env.int("DB_POOL_MIN", default=2)
DB_POOL_MAX = env.int("DB_POOL_MAX", default=20)
DB_POOL = env.bool("DB_POOL", default=True)
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int(
    "DB_CONNECT_TIMEOUT", default=2
)
if DB_POOL:
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": DB_POOL_MIN,
        "max_size": DB_POOL_MAX,
        "timeout": env.float("DB_POOL_TIMEOUT", default=2.0),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Persistent per-process connections, checked before reuse.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=300)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Redis: cache and broker live in separate databases ----------------------
# A cache flush (FLUSHDB on the cache database, or LRU eviction) must never
# delete queued messages, so the broker gets its own database; in production
# they are two Redis instances (cache: allkeys-lru, broker: noeviction).
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379")
CACHE_URL = env.str("CACHE_URL", default=redis_db_url(REDIS_URL, 1))
SECURITY_CACHE_URL = env.str("SECURITY_CACHE_URL", default=redis_db_url(REDIS_URL, 2))
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=redis_db_url(REDIS_URL, 0))
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.25)

CACHE_DEFAULT_TTL = env.int("CACHE_DEFAULT_TTL", default=300)
_redis_options = {
    "CLIENT_CLASS": "django_redis.client.DefaultClient",
    "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
    "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
    "CONNECTION_POOL_KWARGS": {"max_connections": 50, "health_check_interval": 30},
}
CACHES = {
    # Response and data caching: a dead Redis means a miss, never an error.
    "default": {
        # django_redis's backend, counting gets, hits and misses for /metrics.
        "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "bz",
        "TIMEOUT": CACHE_DEFAULT_TTL,
        "OPTIONS": {**_redis_options, "IGNORE_EXCEPTIONS": True},
    },
    # Sessions, lockouts, rate limits: errors propagate so callers fail closed.
    "security": {
        "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
        "LOCATION": SECURITY_CACHE_URL,
        "KEY_PREFIX": "bzsec",
        "TIMEOUT": 300,
        "OPTIONS": {**_redis_options, "IGNORE_EXCEPTIONS": False},
    },
}
# Response cache (catalog/cache/): seconds Redis is left alone after a
# failure, and how long an expired entry may stand in while it is rebuilt.
CACHE_BREAKER_SECONDS = env.float("CACHE_BREAKER_SECONDS", default=5.0)
# Product lists and details: stock shown may lag sales by at most this.
CATALOG_TTL = env.int("CATALOG_TTL", default=30)
CACHE_STALE_GRACE_SECONDS = env.int("CACHE_STALE_GRACE_SECONDS", default=10)
# Refresh-ahead: a hit on an entry past this fraction of its lifetime has a
# worker rebuild it in the background (LOW queue), so busy entries never
# expire; 0 disables (catalog/cache/store.py).
CATALOG_REFRESH_AHEAD = env.float("CATALOG_REFRESH_AHEAD", default=0.5)
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "bazaar.cache"

# --- Celery -------------------------------------------------------------------
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "visibility_timeout": 3600,
}
# django-celery-beat's DatabaseScheduler, turned into a job producer: due
# schedules become JobRecords (jobs/scheduler.py); beat never publishes.
CELERY_BEAT_SCHEDULER = "jobs.scheduler:JobScheduler"
# One queue per priority class (jobs.enums.Priority). Workers list them in
# priority order and the "priority" strategy makes a worker always take from
# the first non-empty queue (kombu's default round-robin would not).
JOB_QUEUES = ["critical", "high", "medium", "low", "batch"]
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in JOB_QUEUES
]
CELERY_TASK_DEFAULT_QUEUE = "medium"
CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"] = "priority"
CELERY_WORKER_SEND_TASK_EVENTS = True  # Flower's live view
CELERY_TASK_SEND_SENT_EVENT = False

# --- Job platform (jobs/) -------------------------------------------------------
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=60)
JOB_RETRY_ATTEMPTS = env.int("JOB_RETRY_ATTEMPTS", default=3)
JOB_RETRY_BACKOFF = env.str("JOB_RETRY_BACKOFF", default="exponential")
JOB_KEEP_SUCCEEDED_DAYS = env.int("JOB_KEEP_SUCCEEDED_DAYS", default=7)
JOB_KEEP_FAILED_DAYS = env.int("JOB_KEEP_FAILED_DAYS", default=30)
JOB_BATCH_WINDOW = env.str("JOB_BATCH_WINDOW", default="01:00-05:00")
JOB_STALE_SECONDS = env.int("JOB_STALE_SECONDS", default=30)
JOB_RELAY_INTERVAL = env.float("JOB_RELAY_INTERVAL", default=0.5)
JOB_RELAY_GATHER_SECONDS = env.float("JOB_RELAY_GATHER_SECONDS", default=0.005)
JOB_PAYLOAD_MAX_BYTES = env.int("JOB_PAYLOAD_MAX_BYTES", default=64 * 1024)
# Job outcomes commit without waiting for the WAL flush (jobs re-run after a
# database crash instead); see jobs.services.job_complete.
JOB_ASYNC_COMMIT = env.bool("JOB_ASYNC_COMMIT", default=True)
JOB_PUBLISH_TIMEOUT = env.float("JOB_PUBLISH_TIMEOUT", default=0.5)
# Extra modules registering job types (tests use it for their own handlers).
JOB_EXTRA_MODULES = env.list("JOB_EXTRA_MODULES", default=[])
# Jobs the relay enqueues when it starts, due JOB_STARTUP_DELAY seconds later.
JOB_STARTUP_JOBS = env.list("JOB_STARTUP_JOBS", default=["cache.warm"])
JOB_STARTUP_DELAY = env.int("JOB_STARTUP_DELAY", default=10)
# Minutes between scheduled cache warmings (jobs/schedules.py, "warm-cache");
# applied by sync_schedules unless the schedule was changed in the admin.
CACHE_WARMUP_INTERVAL = env.int("CACHE_WARMUP_INTERVAL", default=30)

# --- Email --------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Bazaar <no-reply@bazaar.local>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)

# --- Auth -------------------------------------------------------------------
_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    # Argon2id at OWASP's 19 MiB, t=2, p=1 (verifies Django's argon2 hashes too).
    "accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Django's login (admin, browsable API) obeys the API's lockout.
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutModelBackend"]
# Password hashes one process runs at once, and how long a request waits for
# a slot before answering 503.
PASSWORD_HASH_CONCURRENCY = env.int("PASSWORD_HASH_CONCURRENCY", default=2)
PASSWORD_HASH_WAIT_SECONDS = env.float("PASSWORD_HASH_WAIT_SECONDS", default=5.0)

# --- Accounts: JWT sessions, lockout, one-time codes --------------------------
# Tokens are signed with their own key, never SECRET_KEY. In development it
# defaults to a key derived from SECRET_KEY; production requires it.
JWT_SIGNING_KEY = (
    env.str("JWT_SIGNING_KEY", default="")
    or hashlib.sha256(f"bazaar-jwt-signing-key:{SECRET_KEY}".encode()).hexdigest()
)
# Keys rotated out: still verify (by the token's kid) until their tokens expire.
JWT_PREVIOUS_SIGNING_KEYS = env.list("JWT_PREVIOUS_SIGNING_KEYS", default=[])
JWT_ISSUER = env.str("JWT_ISSUER", default="bazaar")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="bazaar-api")
JWT_LEEWAY_SECONDS = env.int("JWT_LEEWAY_SECONDS", default=0)
ACCESS_TOKEN_MINUTES = env.int("ACCESS_TOKEN_MINUTES", default=15)
SESSION_IDLE_DAYS = env.int("SESSION_IDLE_DAYS", default=7)
SESSION_MAX_DAYS = env.int("SESSION_MAX_DAYS", default=30)
REFRESH_GRACE_SECONDS = env.int("REFRESH_GRACE_SECONDS", default=10)
SESSION_ACTIVITY_WRITE_SECONDS = env.int("SESSION_ACTIVITY_WRITE_SECONDS", default=60)
SESSION_STATE_CACHE_SECONDS = env.int("SESSION_STATE_CACHE_SECONDS", default=300)
USER_STATE_CACHE_SECONDS = env.int("USER_STATE_CACHE_SECONDS", default=300)
ACTIVITY_KEEP_DAYS = env.int("ACTIVITY_KEEP_DAYS", default=90)
SESSION_SUSPICIOUS_IPS = env.int("SESSION_SUSPICIOUS_IPS", default=5)
SESSION_SUSPICION_LIMIT = env.int("SESSION_SUSPICION_LIMIT", default=3)
LOGIN_RATE_PER_IP = env.int("LOGIN_RATE_PER_IP", default=30)
LOGIN_LOCK_THRESHOLD = env.int("LOGIN_LOCK_THRESHOLD", default=5)
LOGIN_FAILURE_WINDOW_MINUTES = env.int("LOGIN_FAILURE_WINDOW_MINUTES", default=15)
LOGIN_LOCK_MINUTES = env.int("LOGIN_LOCK_MINUTES", default=15)
REGISTER_RATE_PER_IP_HOUR = env.int("REGISTER_RATE_PER_IP_HOUR", default=10)
CODE_RATE_PER_IP_HOUR = env.int("CODE_RATE_PER_IP_HOUR", default=30)
REFRESH_RATE_PER_MINUTE = env.int("REFRESH_RATE_PER_MINUTE", default=60)
OTP_MINUTES = env.int("OTP_MINUTES", default=10)
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", default=5)
OTP_RESEND_SECONDS = env.int("OTP_RESEND_SECONDS", default=60)
PASSWORD_RESET_MINUTES = env.int("PASSWORD_RESET_MINUTES", default=15)
ACCOUNT_UNLOCK_URL = env.str(
    "ACCOUNT_UNLOCK_URL", default="http://127.0.0.1:8000/unlock?token={token}"
)

# --- Notifications ------------------------------------------------------------
# Providers for SMS and push (dotted paths to classes with ``send``); the
# defaults log the message instead of sending it.
SMS_BACKEND = env.str(
    "SMS_BACKEND", default="accounts.notification_backends.ConsoleSmsBackend"
)
PUSH_BACKEND = env.str(
    "PUSH_BACKEND", default="accounts.notification_backends.ConsolePushBackend"
)
# The one-click unsubscribe link in campaign emails; {token} is replaced.
UNSUBSCRIBE_URL = env.str(
    "UNSUBSCRIBE_URL",
    default="http://127.0.0.1:8000/api/notifications/unsubscribe?token={token}",
)
# Recipients per campaign batch job.
CAMPAIGN_BATCH_SIZE = env.int("CAMPAIGN_BATCH_SIZE", default=1000)
# simplejwt's own settings, for anything that reads them; accounts.tokens
# builds its key-ring backend from the JWT_* settings above.
SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUDIENCE": JWT_AUDIENCE,
    "ISSUER": JWT_ISSUER,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=ACCESS_TOKEN_MINUTES),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "sub",
    "TOKEN_TYPE_CLAIM": "typ",
    "UPDATE_LAST_LOGIN": False,
}

# --- Orders -------------------------------------------------------------------
# Flat shipping fee per order, and the subtotal from which shipping is free
# (in the order's currency).
SHIPPING_FEE = Decimal(env.str("SHIPPING_FEE", default="5.00"))
FREE_SHIPPING_OVER = Decimal(env.str("FREE_SHIPPING_OVER", default="50.00"))
# Minutes a pending order waits for payment before the expiry job cancels it.
ORDER_PAYMENT_MINUTES = env.int("ORDER_PAYMENT_MINUTES", default=30)
# Dotted path of the orders.payments.PaymentGateway subclass to charge through.
PAYMENT_GATEWAY = env.str(
    "PAYMENT_GATEWAY", default="orders.payments.TestPaymentGateway"
)
# Hours an Idempotency-Key (and its stored answer) is kept; API.md promises 24+.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=48)
# Seconds after which an unfinished request's key may be taken over by a retry
# (longer than any request may run: GUNICORN_TIMEOUT is 30).
IDEMPOTENCY_LOCK_SECONDS = env.int("IDEMPOTENCY_LOCK_SECONDS", default=60)
# Longest date range (days, both ends included) one order CSV export may cover.
ORDER_EXPORT_MAX_DAYS = env.int("ORDER_EXPORT_MAX_DAYS", default=366)
# Days an order export (its row and CSV file, which holds buyers' emails) is kept.
ORDER_EXPORT_KEEP_DAYS = env.int("ORDER_EXPORT_KEEP_DAYS", default=30)

# --- Reports (monitoring/reports/) ------------------------------------------
# Addresses the scheduled reports are emailed to; empty: stored, not emailed.
REPORT_RECIPIENTS = env.list("REPORT_RECIPIENTS", default=[])
# Rows in each ranked list of a report (products, categories, customers,
# routes, slow queries).
REPORT_TOP_ITEMS = env.int("REPORT_TOP_ITEMS", default=10)

# --- API --------------------------------------------------------------------
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so an anonymous call gets 401 with WWW-Authenticate.
        "accounts.authentication.SessionJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "config.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "config.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Bazaar API",
    "DESCRIPTION": "E-commerce marketplace backend. Contract: shared API.md.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Several components have a "status" choice field; name the order's.
    "ENUM_NAME_OVERRIDES": {"OrderStatusEnum": "orders.enums.OrderStatus"},
}

# --- Operations ---------------------------------------------------------------
# Minutes between the performance snapshots written to the log (and their window).
PERFORMANCE_LOG_INTERVAL = env.int("PERFORMANCE_LOG_INTERVAL", default=15)
# db_maintenance VACUUMs a table once its dead tuples reach both of these.
DB_VACUUM_MIN_DEAD_TUPLES = env.int("DB_VACUUM_MIN_DEAD_TUPLES", default=1000)
DB_VACUUM_DEAD_RATIO = env.float("DB_VACUUM_DEAD_RATIO", default=0.1)
FLOWER_URL = env.str("FLOWER_URL", default="http://127.0.0.1:5555/")
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=1.0)
LOG_FORMAT = env.str("LOG_FORMAT", default="console")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Request statistics in Redis (monitoring/stats.py), buffered per process.
REQUEST_STATS_ENABLED = env.bool("REQUEST_STATS_ENABLED", default=True)
SLOW_QUERY_MS = env.float("SLOW_QUERY_MS", default=100.0)
SLOW_REQUEST_MS = env.float("SLOW_REQUEST_MS", default=500.0)
STATS_RETENTION_HOURS = env.int("STATS_RETENTION_HOURS", default=48)
# Seconds a process keeps request counts before writing them to Redis (one
# pipeline for all of them); a crash loses at most this much.
STATS_FLUSH_SECONDS = env.float("STATS_FLUSH_SECONDS", default=1.0)

# --- Metrics, memory, errors (monitoring/) -----------------------------------
# GET /metrics: with a token, `Authorization: Bearer <token>` is required;
# without one only loopback clients are answered (API.md).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# PROMETHEUS_MULTIPROC_DIR is read from the environment, not from here:
# prometheus_client reads it at import; config/gunicorn.py defaults it to
# var/prometheus/web and empties it at start.
# Celery worker processes write to this directory (config/celery.py);
# monitoring.exporter (Procfile ``metrics``, no Django) reads the same
# variable and serves it on CELERY_METRICS_PORT / CELERY_METRICS_ADDRESS.
CELERY_PROMETHEUS_MULTIPROC_DIR = env.str(
    "CELERY_PROMETHEUS_MULTIPROC_DIR", default=""
) or str(BASE_DIR / "var" / "prometheus" / "celery")
# Seconds between RSS samples of each web and worker process (0: off), and the
# growth (MiB per hour, over at least 20 mostly rising samples) called a leak.
MEMORY_SAMPLE_SECONDS = env.float("MEMORY_SAMPLE_SECONDS", default=30.0)
MEMORY_LEAK_MB_PER_HOUR = env.float("MEMORY_LEAK_MB_PER_HOUR", default=50.0)
# Errors to Sentry when set (Django and Celery; no personal data sent).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development")
if SENTRY_DSN:
    from monitoring.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
        environment=SENTRY_ENVIRONMENT,
    )

# structlog over the stdlib: Django, Celery and our own loggers share one
# format (JSON in production, console in development) and the request id.
LOGGING = build_logging(fmt=LOG_FORMAT, level=LOG_LEVEL)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
