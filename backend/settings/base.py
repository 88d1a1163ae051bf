"""Settings shared by every environment; each value can come from the environment (12-factor)."""

from pathlib import Path

import environ
from corsheaders.defaults import default_headers as default_cors_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "channels",
    "strawberry_django",
    "apps.core",
    "apps.users",
    "apps.catalog",
    "apps.orders",
]

MIDDLEWARE = [
    "backend.middleware.RequestTimingMiddleware",
    "backend.middleware.RequestGuardMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "backend.middleware.BearerTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's, with `__in` as one array parameter and a pool that replaces dead connections
    # at once (backend/postgresql/).
    DATABASES["default"]["ENGINE"] = "backend.postgresql"
# A connection kept between requests (pooled, or CONN_MAX_AGE) is tested before it is reused:
# one that the server dropped (a restart, a failover) is replaced instead of failing a request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# GraphiQL's bundles, when scripts/build-graphiql.sh has built them (else GraphiQL uses a CDN).
STATICFILES_DIRS = [d for d in [BASE_DIR / "frontend" / "graphiql" / "dist"] if d.is_dir()]

# Bodies larger than this are refused with 413 (bytes): unread when Content-Length says so,
# else (chunked) once one byte more has been read (backend/middleware.py).
MAX_REQUEST_BODY_SIZE = env.int("MAX_REQUEST_BODY_SIZE", default=100 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_SIZE

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True
# A browser app may read a response's request id (to quote it), and may send the trace
# context of its own spans (W3C Trace Context), which the request's trace then continues.
CORS_EXPOSE_HEADERS = ["X-Request-ID"]
CORS_ALLOW_HEADERS = (*default_cors_headers, "traceparent", "tracestate")

REDIS_URL = env("REDIS_URL", default="")
# Prepended to every cache key: deployments that share one Redis keep apart.
CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX", default="")
if REDIS_URL:
    # An accelerator, not a dependency: while Redis is unreachable the cache misses and callers
    # read PostgreSQL (backend/cache.py). Short timeouts, so a dead Redis costs milliseconds,
    # and then none at all for CACHE_RETRY_INTERVAL seconds.
    CACHES = {
        "default": {
            "BACKEND": "backend.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "socket_connect_timeout": env.float("CACHE_SOCKET_CONNECT_TIMEOUT", default=0.25),
                "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.25),
                "RETRY_INTERVAL": env.float("CACHE_RETRY_INTERVAL", default=5.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Requests in Django's middleware and views at once, per web process (backend/asgi.py); each
# holds a thread and, at most, a database connection (keep DB_POOL_MAX_SIZE above it).
WEB_REQUEST_SLOTS = env.int("WEB_REQUEST_SLOTS", default=4)

# Subscriptions: change notices reach every web process through one Redis subscription each
# (apps/core/events.py); in-process without Redis.
EVENTS_SOCKET_TIMEOUT = env.float("EVENTS_SOCKET_TIMEOUT", default=0.25)
# How often an idle subscription to Redis is checked with a PING (a dead one is replaced, and
# what it missed re-read).
EVENTS_HEALTH_CHECK_INTERVAL = env.float("EVENTS_HEALTH_CHECK_INTERVAL", default=10.0)
# Protocol pings to every open subscription connection, so that idle ones stay open through
# proxies that close quiet connections.
SUBSCRIPTION_KEEPALIVE_INTERVAL = env.float("SUBSCRIPTION_KEEPALIVE_INTERVAL", default=15.0)

# The queue tasks are sent to and workers take them from: deployments that share one broker
# keep apart.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# No broker (development): tasks run in-process, still only after the transaction commits.
# Celery still opens a producer for them: its in-memory transport (named, so kombu does not
# warn about a missing host), never a network broker.
IN_PROCESS_BROKER = "memory://localhost/"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or IN_PROCESS_BROKER
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == IN_PROCESS_BROKER
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 60
# A task is acknowledged when done, and handed back if its worker dies, so none is lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands an unacknowledged task to another worker after this many seconds; it must
# exceed the longest task plus its retry countdown.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
    # A Redis that went away never leaves a worker or beat waiting on a dead socket: they
    # reconnect (the worker's blocking wait for tasks is 1 s, well within these).
    "socket_connect_timeout": 5,
    "socket_timeout": 30,
    "socket_keepalive": True,
    "health_check_interval": 25,
}
# A worker that loses the broker stops its late-acknowledged tasks: they could not be
# acknowledged anyway, and the broker hands them out again.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# A broker that is down fails an enqueue fast (the sweeps below deliver the work later): a
# committed change never waits seconds, or fails, for it.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# The sweeps: owed work whose task was lost (a dead worker, a broker restarted empty, an
# enqueue that failed) is handed to the workers again; also when a worker starts.
OWED_WORK_SWEEP_EVERY = env.float("OWED_WORK_SWEEP_EVERY", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-orders": {
        "task": "apps.orders.tasks.requeue_stale_orders",
        "schedule": OWED_WORK_SWEEP_EVERY,
    },
    "requeue-owed-emails": {
        "task": "apps.core.tasks.requeue_owed_emails",
        "schedule": OWED_WORK_SWEEP_EVERY,
    },
}

# Orders: PENDING longer than this (seconds) is processed again by the periodic task.
ORDER_STALE_AFTER = env.int("ORDER_STALE_AFTER", default=5 * 60)
# Emails: unsent this long (seconds) after the change that owed them, they are sent again.
OWED_EMAIL_AFTER = env.int("OWED_EMAIL_AFTER", default=60)
# Processing waits at most this long (ms) for a product lock before retrying later.
ORDER_LOCK_TIMEOUT_MS = env.int("ORDER_LOCK_TIMEOUT_MS", default=5000)
# Retries of a transiently failed order wait base, 2 x base, 4 x base seconds.
ORDER_RETRY_BASE_DELAY = env.float("ORDER_RETRY_BASE_DELAY", default=2.0)

# EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ... from one URL.
EMAIL_URL = env("EMAIL_URL", default="consolemail://")
globals().update(env.email_url_config(EMAIL_URL))
if EMAIL_URL.startswith("filemail:///"):
    # `filemail:///var/mail` names an absolute directory (django-environ drops its slash).
    EMAIL_FILE_PATH = "/" + EMAIL_URL.removeprefix("filemail:///")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="shop@example.com")

# The GraphQL endpoint: GraphiQL in the browser and schema introspection.
GRAPHIQL = env.bool("GRAPHIQL", default=DEBUG)
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=DEBUG)

# Trusted documents (schema/core/trusted_documents.py): `prefer` serves the ids of
# clients/persisted-query-manifest.json from it and runs any other document as before; `only`
# runs nothing but the manifest's documents (production's option); `off` ignores the manifest.
GRAPHQL_TRUSTED_DOCUMENTS = env("GRAPHQL_TRUSTED_DOCUMENTS", default="prefer")
if GRAPHQL_TRUSTED_DOCUMENTS not in ("off", "prefer", "only"):
    raise ImproperlyConfigured("GRAPHQL_TRUSTED_DOCUMENTS must be off, prefer or only.")

# Fields that only read loaded rows are read inline (schema/core/execution.py); off: every
# field through graphql-core's resolvers. The answers are the same either way.
GRAPHQL_PLANNED_EXECUTOR = env.bool("GRAPHQL_PLANNED_EXECUTOR", default=True)

# The manifest's query operations answered by plans compiled at start-up, without executing
# GraphQL (schema/core/compiled/); off: every request executes. The answers are the same bytes.
GRAPHQL_COMPILED_OPERATIONS = env.bool("GRAPHQL_COMPILED_OPERATIONS", default=True)

STRAWBERRY_DJANGO = {
    "FIELD_DESCRIPTION_FROM_HELP_TEXT": True,
    "TYPE_DESCRIPTION_FROM_MODEL_DOCSTRING": True,
    "MAP_AUTO_ID_AS_GLOBAL_ID": True,
}

# Traces (backend/telemetry.py), exported over OTLP/HTTP where OTEL_EXPORTER_OTLP_ENDPOINT (or
# OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; the other OTEL_* variables are read by the SDK.
# Without an endpoint nothing is traced, instrumented or loaded.
TRACING = bool(
    env("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
    or env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", default="")
) and not env.bool("OTEL_SDK_DISABLED", default=False)
# A span per GraphQL field resolved by a resolver too, beside the one per operation: for
# finding a slow resolver, at a cost on every operation (schema/core/tracing.py).
GRAPHQL_TRACE_FIELDS = env.bool("GRAPHQL_TRACE_FIELDS", default=False)

# Metrics for Prometheus (backend/metrics.py). The web processes answer GET /metrics with
# `Authorization: Bearer <METRICS_TOKEN>`, and without a token the path does not exist. A Celery
# worker serves its own on this address and port, where a port is set (none: not served).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=None)
WORKER_METRICS_ADDRESS = env("WORKER_METRICS_ADDRESS", default="127.0.0.1")

# Every request has one log line (backend.middleware.RequestTimingMiddleware) with its status:
# Django's extra warning for each 4xx ("Bad Request: /graphql/") is left out; 5xx stay.
# strawberry's own error log is replaced by schema.core.errors' (masked errors, with request ids).
LOGGER_LEVELS = {
    "django.request": {"level": "ERROR"},
    "strawberry.execution": {"level": "CRITICAL"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": LOGGER_LEVELS,
}

# Tokens: short-lived JWT access tokens, stored (hashed) single-use refresh tokens.
# Empty: sign with SECRET_KEY.
JWT_SIGNING_KEY = env("JWT_SIGNING_KEY", default="")
JWT_ALGORITHM = env("JWT_ALGORITHM", default="HS256")
ACCESS_TOKEN_LIFETIME = env.int("ACCESS_TOKEN_LIFETIME", default=15 * 60)
REFRESH_TOKEN_LIFETIME = env.int("REFRESH_TOKEN_LIFETIME", default=7 * 24 * 60 * 60)
# obtainToken (apps/users/login_limits.py): failed logins allowed within the window (seconds)
# for one email from one client address, and for one client address whatever the emails.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_MAX_FAILURES_PER_ADDRESS = env.int("LOGIN_MAX_FAILURES_PER_ADDRESS", default=100)
LOGIN_FAILURE_WINDOW = env.int("LOGIN_FAILURE_WINDOW", default=15 * 60)
if min(LOGIN_MAX_FAILURES, LOGIN_MAX_FAILURES_PER_ADDRESS, LOGIN_FAILURE_WINDOW) < 1:
    raise ImproperlyConfigured("LOGIN_MAX_FAILURES* and LOGIN_FAILURE_WINDOW must be at least 1.")

# The client address (login limits) is the peer's, or, behind this many proxies that each
# append the address they received from to X-Forwarded-For, that many entries from its right
# (schema/core/client_address.py). The app must then be reachable only through those proxies.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
