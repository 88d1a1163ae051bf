"""prometheus_client's multiprocess mode for a tree of processes: gunicorn's workers, a Celery
worker's pool. Each process writes its metrics to files of its own in one directory, and a
scrape adds them up (backend/metrics.py).

The parent prepares the directory before any child starts, and before prometheus_client is
imported anywhere in the tree (it chooses its mode on import): PROMETHEUS_MULTIPROC_DIR as
given, emptied of an earlier run's files, or a new temporary directory, removed when the
parent exits. A
child that exits is marked dead: its live gauges (open subscriptions) stop counting, its
counters stay in the sums.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# The pid of the process that prepared the directory: its children (which inherit the
# environment) use it as it is.
OWNER = "SHOP_METRICS_DIR_OWNER"


def prepare(prefix: str) -> Path:
    """The directory every process of the tree writes to, empty, in PROMETHEUS_MULTIPROC_DIR."""
    given = os.environ.get(VARIABLE)
    if given and os.environ.get(OWNER, str(os.getpid())) != str(os.getpid()):
        return Path(given)  # a child of the tree's parent: the files are its siblings'
    os.environ[OWNER] = str(os.getpid())
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix=prefix))
        os.environ[VARIABLE] = str(directory)
        atexit.register(_remove, directory, os.getpid())
    return directory


def mark_process_dead(pid: int) -> None:
    if os.environ.get(VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def _remove(directory: Path, parent: int) -> None:
    """At the parent's exit (children inherit the hook, and must leave the files be)."""
    if os.getpid() == parent:
        shutil.rmtree(directory, ignore_errors=True)
