"""gunicorn for both of the app's entry points; the application named picks the workers:

- `gunicorn backend.wsgi:application`: HTTP only (the API, the admin, /healthz), served by WSGI
  workers, the deployment's HTTP service (bench/RESULTS.md, "WSGI or ASGI": two to three
  times the requests per CPU of the ASGI path for the same answers);
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
ASGI = served_application(sys.argv[1:]).startswith("backend.asgi:")
if ASGI:
    # uvicorn's worker, minus its reading of X-Forwarded-For: the app does that
    # (TRUSTED_PROXY_COUNT).
    worker_class = "backend.gunicorn_worker.UvicornWorker"
else:
    # Requests are handled one per worker thread, each with the whole of it; keep-alive
    # connections are held by the worker's poller, not by a thread.
    worker_class = "gthread"
    threads = int(os.environ.get("WEB_THREADS", "4"))
# Each worker holds its own PostgreSQL connections: size the database for workers x threads.
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
