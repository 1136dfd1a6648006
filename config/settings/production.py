"""Production settings: secrets must come from the environment, no defaults."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import SIMPLE_JWT, env

SECRET_KEY = env.str("SECRET_KEY")
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY")
if len(JWT_SIGNING_KEY) < 32 or JWT_SIGNING_KEY == SECRET_KEY:
    raise ImproperlyConfigured(
        "JWT_SIGNING_KEY must be at least 32 characters and differ from SECRET_KEY."
    )
SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": JWT_SIGNING_KEY}
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DEBUG = False
# Media comes from the web server or object storage, not from Django.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=False)
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = build_logging(fmt=LOG_FORMAT, level=LOG_LEVEL)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# /health and /ready are probed over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
