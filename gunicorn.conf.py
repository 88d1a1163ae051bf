"""gunicorn serving the ASGI app with uvicorn workers: `gunicorn backend.asgi:application`."""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
# uvicorn's worker, minus its reading of X-Forwarded-For: the app does that (TRUSTED_PROXY_COUNT).
worker_class = "backend.gunicorn_worker.UvicornWorker"
# Each worker holds its own PostgreSQL connections: size the database for workers x threads.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# No access log: RequestTimingMiddleware already logs one JSON line per request, with its id.
accesslog = None
errorlog = "-"


def post_worker_init(worker) -> None:
    """The application is loaded: keep it out of garbage collection (backend/gc_tuning.py)."""
    from django.urls import get_resolver

    from backend.gc_tuning import tune_for_serving

    get_resolver().check()  # imports every view and the schema before freezing
    tune_for_serving()


def on_starting(server) -> None:
    """Before any worker: their metrics files go to one directory (backend/multiprocess.py)."""
    from backend import multiprocess

    multiprocess.prepare("shop-web-metrics-")


def child_exit(server, worker) -> None:
    from backend import multiprocess

    multiprocess.mark_process_dead(worker.pid)
