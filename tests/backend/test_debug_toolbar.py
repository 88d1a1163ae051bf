"""django-debug-toolbar and `extensions.sqlQueries`: development settings only."""

import json

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve

from tests.backend.test_production_settings import PRODUCTION, manage

TOOLBAR_MIDDLEWARE = "strawberry_django.middlewares.debug_toolbar.DebugToolbarMiddleware"
REPORT = (
    "from django.conf import settings as s; from django.urls import resolve; import json\n"
    "try:\n    resolve('/__debug__/render_panel/'); urls = True\n"
    "except Exception:\n    urls = False\n"
    "print(json.dumps(['debug_toolbar' in s.INSTALLED_APPS, "
    f"{TOOLBAR_MIDDLEWARE!r} in s.MIDDLEWARE, urls, "
    "getattr(s, 'GRAPHQL_SQL_QUERY_COUNT', False)]))"
)


def report(**env: str) -> list[bool]:
    result = manage("shell", "-c", REPORT, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_absent_under_test_settings(client):
    assert "debug_toolbar" not in settings.INSTALLED_APPS
    assert TOOLBAR_MIDDLEWARE not in settings.MIDDLEWARE
    assert not getattr(settings, "GRAPHQL_SQL_QUERY_COUNT", False)
    with pytest.raises(Resolver404):
        resolve("/__debug__/render_panel/")
    assert client.get("/__debug__/render_panel/").status_code == 404


def test_absent_under_production_settings():
    assert report(**PRODUCTION) == [False, False, False, False]


def test_present_under_development_settings():
    development = {"DJANGO_SETTINGS_MODULE": "backend.settings.development"}
    assert report(**development) == [True, True, True, True]


def test_development_without_debug_has_neither():
    development = {"DJANGO_SETTINGS_MODULE": "backend.settings.development", "DEBUG": "false"}
    assert report(**development) == [False, False, False, False]
