"""prometheus_client's multiprocess mode for a tree of processes: gunicorn's workers, a Celery
worker's pool. Each process writes its metrics to files of its own in one directory, and a
scrape adds them up (backend/metrics.py).

The parent prepares the directory before any child starts, and before prometheus_client is
imported anywhere in the tree (it chooses its mode on import): PROMETHEUS_MULTIPROC_DIR as
given, emptied of an earlier run's files, or a new temporary directory, removed at exit. A
child that exits is marked dead: its live gauges (open subscriptions) stop counting, its
counters stay in the sums.
"""

import os
import shutil
import tempfile
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

_made: Path | None = None


def prepare(prefix: str) -> Path:
    """The directory every process of the tree writes to, empty, in PROMETHEUS_MULTIPROC_DIR."""
    global _made
    given = os.environ.get(VARIABLE)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = _made = Path(tempfile.mkdtemp(prefix=prefix))
        os.environ[VARIABLE] = str(directory)
    return directory


def mark_process_dead(pid: int) -> None:
    if os.environ.get(VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def remove() -> None:
    """Removes the directory `prepare` made (one it was given stays)."""
    if _made is not None:
        shutil.rmtree(_made, ignore_errors=True)
