"""The compose file and the gunicorn config, checked without a Docker engine."""

import gc
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from backend.gc_tuning import THRESHOLDS
from tests.backend.test_production_settings import manage

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "k7#Jq2!vR9wL0pZ4xT6bN1mC8sD3fG5hY-compose-test-key-long-enough"


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


OBSERVABILITY = {"prometheus", "grafana", "otel-collector", "jaeger"}


def test_compose_runs_web_worker_and_beat_on_one_configuration():
    services = {
        name: service
        for name, service in compose()["services"].items()
        if "profiles" not in service
    }
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    django_services = [services[name] for name in ("migrate", "web", "worker", "beat")]
    environments = [s["environment"] for s in django_services]
    assert all(environment == environments[0] for environment in environments)
    assert environments[0]["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert services["web"]["command"] == "gunicorn backend.asgi:application"
    assert services["worker"]["command"].startswith("celery -A backend worker")
    assert services["beat"]["command"].startswith("celery -A backend beat")
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert {"postgres-data", "redis-data"} <= set(compose()["volumes"])


def test_the_observability_profile_scrapes_the_api_with_its_token():
    services = compose()["services"]
    profiled = {name for name, service in services.items() if "profiles" in service}
    assert profiled == OBSERVABILITY
    assert all(services[name]["profiles"] == ["observability"] for name in OBSERVABILITY)
    assert not any("container_name" in service for service in services.values())
    environment = compose()["x-django"]["environment"]
    assert "web" in environment["ALLOWED_HOSTS"].split(":-", 1)[1].rstrip("}").split(",")
    assert environment["WORKER_METRICS_PORT"] == "9100"
    # The token Prometheus sends is the one the API checks, and never has a default.
    assert environment["METRICS_TOKEN"] == "${METRICS_TOKEN:-}"
    assert compose()["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    assert services["prometheus"]["secrets"] == ["metrics_token"]
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    web, worker = scrape["scrape_configs"]
    assert web["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    assert web["dns_sd_configs"] == [{"names": ["web"], "type": "A", "port": 8000}]
    assert worker["dns_sd_configs"] == [{"names": ["worker"], "type": "A", "port": 9100}]
    # Published on this host only.
    for name in ("prometheus", "grafana", "jaeger"):
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"]), name
    otel = yaml.safe_load((ROOT / "deploy/otel-collector/config.yaml").read_text())
    assert otel["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"


def test_compose_starts_the_app_only_after_migrations_succeeded():
    services = compose()["services"]
    assert services["migrate"]["command"] == "python manage.py migrate --no-input"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends_on["postgres"]["condition"] == "service_healthy", name


def test_the_image_runs_as_a_user_without_privileges():
    lines = [line.split() for line in (ROOT / "Dockerfile").read_text().splitlines() if line]
    users = [words[1] for words in lines if words[0] == "USER"]
    assert users and users[-1] not in ("root", "0")
    # The user is switched to after everything that needs root (installing, collectstatic).
    last_user = max(i for i, words in enumerate(lines) if words[0] == "USER")
    assert all(words[0] != "RUN" for words in lines[last_user + 1 :])


def compose_environment() -> dict[str, str]:
    """The Django services' environment as compose resolves it with only SECRET_KEY given."""
    resolved = {}
    for name, value in compose()["x-django"]["environment"].items():
        value = str(value)
        match = re.fullmatch(r"\$\{(\w+)(?::-([^}]*)|:\?[^}]*)\}", value)
        if match:
            value = SECRET_KEY if match.group(1) == "SECRET_KEY" else match.group(2) or ""
        resolved[name] = value
    return resolved


def test_check_deploy_is_clean_with_composes_settings():
    environment = compose_environment()
    assert environment["DJANGO_SETTINGS_MODULE"] == "backend.settings.production"
    result = manage("check", "--deploy", "--fail-level", "WARNING", **environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_does_not_install_or_load_daphne():
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment |= compose_environment()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(','.join(settings.INSTALLED_APPS))",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "daphne" not in result.stdout.split(",")
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (project,) = [p for p in lock["package"] if p["name"] == "shop-graphql"]
    assert "daphne" not in {d["name"] for d in project.get("dependencies", [])}
    assert "daphne" in {d["name"] for d in project["dev-dependencies"]["dev"]}


def test_gunicorn_serves_the_asgi_app_with_uvicorn_workers():
    namespace: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    assert namespace["worker_class"] == "backend.gunicorn_worker.UvicornWorker"
    assert namespace["bind"] == "0.0.0.0:8000"
    assert "forwarded_allow_ips" not in namespace


def test_the_uvicorn_worker_leaves_x_forwarded_for_to_the_app():
    """uvicorn would otherwise take the client from X-Forwarded-For whenever the peer is
    127.0.0.1: any client on the host could pick its own address (TRUSTED_PROXY_COUNT)."""
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from uvicorn_worker import UvicornWorker as Upstream

    from backend.gunicorn_worker import UvicornWorker, WebSocketProtocol

    assert issubclass(UvicornWorker, Upstream)
    # Nor does it compress WebSocket messages: per-connection deflate state, for small events;
    # and its WebSocket protocol is uvicorn's own, less the handshake it no longer needs.
    assert {
        **Upstream.CONFIG_KWARGS,
        "proxy_headers": False,
        "ws_per_message_deflate": False,
        "ws": WebSocketProtocol,
    } == UvicornWorker.CONFIG_KWARGS
    assert issubclass(WebSocketProtocol, WebSocketsSansIOProtocol)


def test_each_gunicorn_worker_freezes_the_loaded_app_out_of_garbage_collection():
    namespace: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    thresholds = gc.get_threshold()
    try:
        namespace["post_worker_init"](None)

        assert gc.get_freeze_count() > 10_000  # Django and the schema at least
        assert gc.get_threshold() == THRESHOLDS
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
