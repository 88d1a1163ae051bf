"""gunicorn serving the ASGI app with uvicorn workers: `gunicorn backend.asgi:application`."""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
worker_class = "uvicorn_worker.UvicornWorker"
# Each worker holds its own PostgreSQL connections: size the database for workers x threads.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
