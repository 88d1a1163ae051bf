"""Django's PostgreSQL backend whose psycopg pool replaces dead connections at once, and whose
`__in` is one array parameter (`lookups.py`).

With `CONN_HEALTH_CHECKS`, Django 5.2 gives the pool `check=ConnectionPool.check_connection`:
each checkout tests its connection and discards it when dead. When PostgreSQL drops every
connection (a restart, a failover, `pg_terminate_backend`), the pool is full of dead ones, and
psycopg_pool pauses between two failed checks of one checkout (0 s, then about 1, 2, 4, 8 s):
the first request after the drop walked through six dead connections for ten seconds and then
failed with PoolTimeout. Here a failed check tests every idle connection of the pool at once
(`ConnectionPool.check()`, public API: the dead ones are discarded and replaced), so the
checkout's next try gets a live or a fresh connection without those pauses.

Written for Django 5.2 and psycopg_pool 3.x: replacing the check of the pool Django built
reads the pool's `_check`, which is psycopg_pool's own; both versions are checked at import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import django
import psycopg
import psycopg_pool
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

from backend.postgresql import lookups

if django.VERSION[:2] != (5, 2) or not psycopg_pool.__version__.startswith("3."):
    raise ImproperlyConfigured(
        f"backend.postgresql was written for Django 5.2 and psycopg_pool 3.x, not Django "
        f"{django.get_version()} and psycopg_pool {psycopg_pool.__version__}: read it against "
        "the new versions (how Django builds the pool and passes `check`) before allowing them."
    )

logger = logging.getLogger(__name__)

lookups.register()


def check_or_sweep(pool: ConnectionPool) -> Callable[[psycopg.Connection], None]:
    """The pool's checkout check: a dead connection makes the pool test all its idle ones."""

    def check(connection: psycopg.Connection) -> None:
        try:
            ConnectionPool.check_connection(connection)
        except Exception:
            # Rarely alone: PostgreSQL dropped the others too. Replace them all now.
            logger.warning("Dead database connection at checkout: testing the pool's idle ones")
            pool.check()
            raise

    return check


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> ConnectionPool | None:
        pool = super().pool
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_or_sweep(pool)
        return pool
