"""Test runs: SQLite unless DATABASE_URL is set; fast password hashing; mail kept in memory."""

import uuid

from backend.settings.base import *  # noqa: F403
from backend.settings.base import LOGGER_LEVELS, env

DEBUG = False
SECRET_KEY = "test-only-secret-key-that-is-long-enough-for-hs256"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if not env("EMAIL_URL", default=""):
    # In memory, unless a test's worker process is told where to write (EMAIL_URL).
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run in-process (after commit) unless a test starts a real worker on this broker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
# A queue of this test run's own: test runs sharing one Redis never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default=f"tests-{uuid.uuid4().hex}")
ORDER_RETRY_BASE_DELAY = env.float("ORDER_RETRY_BASE_DELAY", default=0.05)
GRAPHIQL = True
GRAPHQL_INTROSPECTION = True
CORS_ALLOWED_ORIGINS = ["http://allowed.example"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"], "level": env("LOG_LEVEL", default="WARNING")},
    "loggers": LOGGER_LEVELS,
}
