"""gunicorn for the bare baseline: sync workers, one request per worker at a time, no access log.

Passed with `-c` so that the project's gunicorn.conf.py (its worker choice, its hooks) is not
read: the baseline is served the plain way.
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:8765")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = 30
accesslog = None
errorlog = "-"
