"""Reads of the catalog: its search and stock conditions, and product lists cached under a
catalog version that every write retires."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import connection
from django.db.models import Q

T = TypeVar("T")


def product_search(term: str, *, prefix: str = "") -> Q:
    """Products whose sku or name contains `term`, ignoring case (`prefix` reaches them
    through a relation, `"product__"`)."""
    return Q(**{f"{prefix}sku__icontains": term}) | Q(**{f"{prefix}name__icontains": term})


def product_in_stock(in_stock: bool, *, prefix: str = "") -> Q:
    """Products with units to sell (`stock > 0`), or, for False, none left."""
    return Q(**{f"{prefix}stock__gt": 0}) if in_stock else Q(**{f"{prefix}stock": 0})


CATALOG_VERSION_KEY = "catalog:version"
PRODUCT_LIST_KEY = "catalog:products:{version}:{key}"
# Lists cached under a retired version are never read again; the timeout only frees memory.
PRODUCT_LIST_TIMEOUT = 10 * 60


def _fresh_version() -> int:
    # The clock, not 1: a version key that was evicted never restarts at a number that lists
    # still in the cache were stored under.
    return time.time_ns()


def catalog_version() -> int:
    """The catalog's current version: a cached product list is valid under this version only."""
    version = cache.get(CATALOG_VERSION_KEY)
    if version is None:
        cache.add(CATALOG_VERSION_KEY, _fresh_version(), timeout=None)
        version = cache.get(CATALOG_VERSION_KEY) or _fresh_version()
    return version


def catalog_version_bump() -> None:
    """Retires every cached product list at once (O(1)): the next read misses and reloads."""
    try:
        cache.incr(CATALOG_VERSION_KEY)
    except ValueError:
        # No version yet, or it was evicted: a fresh one retires whatever is cached as well.
        cache.add(CATALOG_VERSION_KEY, _fresh_version(), timeout=None)


def product_list_cached(*, key: str, load: Callable[[], T]) -> T:
    """`load()`, or what it returned for `key` under the current catalog version.

    The version is read before the rows, so a list stored after a write commits is stored
    under the version that write retires at commit. Inside a transaction the cache is
    bypassed both ways: those rows may include uncommitted writes, and a write's version bump
    waits for its commit.
    """
    if connection.in_atomic_block:
        return load()
    versioned_key = PRODUCT_LIST_KEY.format(version=catalog_version(), key=key)
    cached = cache.get(versioned_key)
    if cached is None:
        cached = load()
        cache.set(versioned_key, cached, PRODUCT_LIST_TIMEOUT)
    return cached
