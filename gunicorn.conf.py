"""gunicorn for both of the app's entry points; the application named picks the workers:

- `gunicorn backend.wsgi:application`: HTTP only (the API, the admin, /healthz), served by
  sync workers: the deployment's HTTP service (bench/RESULTS.md, "WSGI or ASGI": about half
  the CPU per request of the ASGI path for small answers);
- `gunicorn backend.asgi:application`: WebSockets (subscriptions) and HTTP, served by uvicorn
  workers: the deployment's WebSocket service, or everything in one process.

A `-k` on the command line still wins over the choice made here.
"""

import os
import sys

from gunicorn.config import Config


def served_application(argv: list[str]) -> str:
    """The application gunicorn's command line names (its first positional argument)."""
    parsed, _ = Config().parser().parse_known_args(argv)
    return parsed.args[0] if parsed.args else ""


bind = os.environ.get("BIND", "0.0.0.0:8000")
# uvicorn's worker for the ASGI app, minus its reading of X-Forwarded-For: the app does that
# (TRUSTED_PROXY_COUNT). Sync workers for the WSGI app: one request at a time per worker, on a
# connection of its own, so requests spread over the workers however clients hold their
# connections (gthread's and uvicorn's keep-alive connections stay with the worker that
# accepted them), for the least CPU per request; slow clients are a buffering proxy's to
# absorb (deploy/nginx/).
ASGI = served_application(sys.argv[1:]).startswith("backend.asgi:")
worker_class = "backend.gunicorn_worker.UvicornWorker" if ASGI else "sync"
# Each worker holds its own PostgreSQL connections: size the database for workers x requests
# in flight (one per sync worker; WEB_REQUEST_SLOTS per uvicorn worker).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# No peer is trusted with the scheme or path headers: the app reads X-Forwarded-Proto itself
# (SECURE_PROXY_SSL_HEADER), and X-Forwarded-For behind TRUSTED_PROXY_COUNT proxies.
forwarded_allow_ips = ""
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
