"""The compose file and the gunicorn config, checked without a Docker engine."""

import gc
from pathlib import Path

import yaml

from backend.gc_tuning import THRESHOLDS

ROOT = Path(__file__).resolve().parent.parent


def test_compose_runs_web_worker_and_beat_on_one_configuration():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    django_services = [services[name] for name in ("web", "worker", "beat")]
    environments = [s["environment"] for s in django_services]
    assert environments[0] == environments[1] == environments[2]
    assert environments[0]["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert "migrate" in services["web"]["command"]
    assert "gunicorn backend.asgi:application" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A backend worker")
    assert services["beat"]["command"].startswith("celery -A backend beat")
    for service in django_services:
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert set(compose["volumes"]) == {"postgres-data", "redis-data"}


def test_gunicorn_serves_the_asgi_app_with_uvicorn_workers():
    namespace: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    assert namespace["worker_class"] == "backend.gunicorn_worker.UvicornWorker"
    assert namespace["bind"] == "0.0.0.0:8000"
    assert "forwarded_allow_ips" not in namespace


def test_the_uvicorn_worker_leaves_x_forwarded_for_to_the_app():
    """uvicorn would otherwise take the client from X-Forwarded-For whenever the peer is
    127.0.0.1: any client on the host could pick its own address (TRUSTED_PROXY_COUNT)."""
    from uvicorn_worker import UvicornWorker as Upstream

    from backend.gunicorn_worker import UvicornWorker

    assert issubclass(UvicornWorker, Upstream)
    assert UvicornWorker.CONFIG_KWARGS == {**Upstream.CONFIG_KWARGS, "proxy_headers": False}


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
