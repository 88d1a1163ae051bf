"""The bare baseline's settings: the models and the database, nothing else (bench/bare/)."""

import environ

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="bench-bare-only-secret-key-0123456789abcdef")
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# The models' apps only: no admin, sessions, messages, CORS, static files.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "apps.core",
    "apps.users",
    "apps.catalog",
    "apps.orders",
]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.bare.urls"
WSGI_APPLICATION = "bench.bare.wsgi.application"
AUTH_USER_MODEL = "users.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
# One connection per worker, kept: what a plain deployment of a sync view does.
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/shop_bench")
}
DATABASES["default"]["CONN_MAX_AGE"] = None
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"handlers": [], "level": "WARNING"},
}
