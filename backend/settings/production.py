"""Deployment: DEBUG off, secrets and hosts from the environment, secure transport.

`manage.py check --deploy` reports nothing with these settings (a test runs it).
"""

from django.core.exceptions import ImproperlyConfigured

from backend.settings.base import *  # noqa: F403
from backend.settings.base import DATABASES, LOGGER_LEVELS, MIDDLEWARE, REDIS_URL, env

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set in the environment for production (a long random string)."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

GRAPHIQL = env.bool("GRAPHIQL", default=False)
# Off by default: codegen tools read the checked-in schema.graphql instead.
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=False)

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Prometheus scrapes the web processes directly, inside the deployment's network.
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
if not SECURE_SSL_REDIRECT:
    # Turned off on purpose: plain HTTP on a private address (compose), or a proxy that
    # redirects to HTTPS itself. The deploy check would otherwise report it.
    SILENCED_SYSTEM_CHECKS = ["security.W008"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

# Static files (the admin, GraphiQL's page) served by the app itself, compressed, hashed.
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1 :],
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Every process shares one cache (the product lists, persisted queries) and hears the others'
# subscription events, both through base.py's Redis.
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must be set in production: the cache is shared.")

if DATABASES["default"]["ENGINE"] == "backend.postgresql":
    if env.bool("DB_POOL", default=True):
        # psycopg's pool, per process: size it so that (web workers x max_size) + Celery
        # concurrency stays under PostgreSQL's max_connections. Each checkout tests its
        # connection (CONN_HEALTH_CHECKS, base.py), and a dead one has the pool replace every
        # dead one at once (backend/postgresql/base.py): after PostgreSQL drops connections,
        # the next requests get live ones.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
            "timeout": env.int("DB_POOL_TIMEOUT", default=10),
        }
    else:
        # No pool (a PgBouncer in front, say): one connection per thread, kept this many
        # seconds and tested before each request reuses it.
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Each line has the request's id and, inside a span (tracing on), `trace_id` and `span_id`.
    "filters": {
        "request_id": {"()": "apps.core.request_id.RequestIdLogFilter"},
        "trace_context": {"()": "backend.telemetry.TraceContextLogFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "trace_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": LOGGER_LEVELS,
}
