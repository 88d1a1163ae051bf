"""backend.settings.production, checked in a process of its own as a deployment runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production",
    "SECRET_KEY": "k7#Jq2!vR9wL0pZ4xT6bN1mC8sD3fG5hY-production-test-key-long-enough",
    "ALLOWED_HOSTS": "api.example.com",
    "DATABASE_URL": "postgres://shop@127.0.0.1:5432/shop",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in PRODUCTION} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_reports_nothing():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_missing_secret_key_is_a_clear_error():
    result = manage("check", **(PRODUCTION | {"SECRET_KEY": ""}))
    assert result.returncode != 0
    assert "SECRET_KEY must be set in the environment for production" in result.stderr


def test_introspection_and_graphiql_default_off_and_the_pool_is_on():
    script = (
        "from django.conf import settings as s; import json; print(json.dumps("
        "[s.DEBUG, s.GRAPHIQL, s.GRAPHQL_INTROSPECTION, "
        "s.DATABASES['default']['OPTIONS']['pool']]))"
    )
    result = manage("shell", "-c", script, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    debug, graphiql, introspection, pool = json.loads(result.stdout.strip().splitlines()[-1])
    assert (debug, graphiql, introspection) == (False, False, False)
    assert pool == {"min_size": 2, "max_size": 10, "timeout": 10}


def test_database_connections_are_tested_before_reuse_with_the_pool_and_without():
    script = (
        "from django.conf import settings as s; from django.db import connection as c; "
        "import json; d = s.DATABASES['default']; print(json.dumps([d['ENGINE'], "
        "d['CONN_HEALTH_CHECKS'], d['CONN_MAX_AGE'], 'pool' in d['OPTIONS'], "
        "c.pool._check.__qualname__ if c.pool else None]))"
    )
    pooled = manage("shell", "-c", script, **PRODUCTION)
    assert pooled.returncode == 0, pooled.stderr
    assert json.loads(pooled.stdout.strip().splitlines()[-1]) == [
        "backend.postgresql",
        True,
        0,
        True,
        "check_or_sweep.<locals>.check",
    ]
    unpooled = manage("shell", "-c", script, **(PRODUCTION | {"DB_POOL": "false"}))
    assert unpooled.returncode == 0, unpooled.stderr
    assert json.loads(unpooled.stdout.strip().splitlines()[-1]) == [
        "backend.postgresql",
        True,
        60,
        False,
        None,
    ]


def test_logs_are_json_lines_with_the_request_id():
    script = "import logging; logging.getLogger('shop').warning('hello %s', 'world')"
    result = manage("shell", "-c", script, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(x) for x in result.stderr.splitlines() if '"shop"' in x]
    assert line["message"] == "hello world"
    assert (line["level"], line["logger"], line["request_id"]) == ("WARNING", "shop", "-")
    assert "time" in line
