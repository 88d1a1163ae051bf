"""The SQL of a compiled read, made once per shape and bound to each request's keys.

Building and compiling the normal path's querysets (filters, subquery annotations, window
functions, `as_sql`) costs a compiled read more than PostgreSQL takes to answer it. What a
read's SQL depends on is the caller's kind (the visibility rules branch on `is_authenticated`
and `is_admin`, `apps.*.models.visible_to`), the request's variables, and keys: the caller's,
a node's and the parents'. So each read's queryset is built as usual, but for a stand-in
caller (`StandIn`) and with sentinel keys, once per read, caller kind and variables; each
request then puts its own keys where the sentinels came out in the parameters, and runs the
kept text. A sentinel found anywhere else (written into the text, inside another parameter)
means the keys shape the SQL, and that read is built per request, as before.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

# Keys far below any primary key, inside every integer column's range.
VIEWER_KEY = -1_999_999_001
NODE_KEY = -1_999_999_002
FIRST_PARENT_KEY = -1_999_998_001
SENTINEL_DIGITS = "19999"
# Statements kept per thread (no lock on the request path), the least recently used dropped.
# Each holds its converters' expressions (subquery annotations included): about 19 KB.
KEPT = 512


@dataclasses.dataclass(frozen=True)
class StandIn:
    """The caller as a kept statement sees it: what the visibility rules branch on, and a
    sentinel key. A rule that reads anything else raises AttributeError here, and that read is
    built per request."""

    pk: int | None
    is_authenticated: bool
    is_admin: bool


@dataclasses.dataclass(frozen=True)
class Keys:
    """A request's keys: the caller's, a node's and the parents' (each None when not used)."""

    viewer: Any = None
    node: Any = None
    parents: Sequence[Any] | None = None
    # False when the request's own values could pass for a sentinel (`could_pass_for_key`).
    bind: bool = True

    def sentinels(self) -> Keys:
        return Keys(
            viewer=None if self.viewer is None else VIEWER_KEY,
            node=None if self.node is None else NODE_KEY,
            parents=None
            if self.parents is None
            else [FIRST_PARENT_KEY + at for at in range(len(self.parents))],
        )

    def bindable(self) -> bool:
        """Integer keys only: a sentinel is an integer."""
        return self.bind and all(
            type(key) is int for key in (self.viewer, self.node, *(self.parents or ())) if key
        )


# What a read builds for a caller (the request's, or the stand-in) and keys: its queryset, and
# what else the statement keeps (orderings, column positions).
Build = Callable[[Any, Keys], tuple[QuerySet, Any]]


@dataclasses.dataclass(frozen=True)
class Statement:
    """A read's SQL with the positions of its keys, how its rows are converted (Django's
    converters, as `values_list` applies them), and what the build gave besides the queryset."""

    sql: str | None  # None: the queryset is empty (`none()`), nothing runs
    params: tuple
    holes: tuple[tuple[int, str, int | None], ...]  # position, key, index in the parents
    parents: int | None  # how many parents the text has a parameter for, if one each
    alias: str  # the database
    converters: tuple[tuple[int, tuple[list, Any]], ...]
    extra: Any

    def rows(self, keys: Keys) -> list[tuple]:
        if self.sql is None:
            return []
        if self.parents is not None and len(keys.parents) != self.parents:
            raise Unbindable("another number of parents")
        params = list(self.params)
        for at, name, index in self.holes:
            value = getattr(keys, name)
            if index is not None:
                value = value[index]
            elif name == "parents":
                value = list(value)
            params[at] = value
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if self.converters:
            rows = [self._convert(row, connection) for row in rows]
        return rows

    def _convert(self, row: tuple, connection: Any) -> tuple:
        """The row as `values_list` gives it (`SQLCompiler.apply_converters`)."""
        values = list(row)
        for at, (converters, expression) in self.converters:
            value = values[at]
            for converter in converters:
                value = converter(value, expression, connection)
            values[at] = value
        return tuple(values)


class Unbindable(Exception):
    """The keys shape this read's SQL: it is built per request."""


def could_pass_for_key(text: str) -> bool:
    """Whether `text` (the request's variables) may hold a sentinel key's digits."""
    return SENTINEL_DIGITS in text


def statement_of(queryset: QuerySet, extra: Any, sentinels: Keys, *, count: bool) -> Statement:
    """`queryset`'s SQL (or its row count's), with the positions of the sentinel keys."""
    if count:
        if queryset.query.distinct:  # Django counts the distinct rows of the whole select
            raise Unbindable("DISTINCT")
        queryset = queryset.order_by().values_list("pk")
    compiler = queryset.query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return Statement(None, (), (), None, queryset.db, (), extra)
    if count:
        sql = f"SELECT COUNT(*) FROM ({sql}) counted"
        converters = ()
    else:
        fields = [selected[0] for selected in compiler.select[: compiler.col_count]]
        converters = tuple(compiler.get_converters(fields).items())
    found = holes(sql, params, sentinels)
    one_each = any(index is not None for _, _, index in found)
    parents = len(sentinels.parents) if one_each else None
    return Statement(sql, tuple(params), found, parents, queryset.db, converters, extra)


def holes(sql: str, params: Sequence[Any], sentinels: Keys) -> tuple:
    """Where each sentinel key is among the parameters; Unbindable when one is elsewhere."""
    single = {
        key: (name, None)
        for name, key in (("viewer", sentinels.viewer), ("node", sentinels.node))
        if key is not None
    }
    parents = list(sentinels.parents or ())
    single.update({key: ("parents", index) for index, key in enumerate(parents)})
    found = []
    for at, param in enumerate(params):
        if isinstance(param, (list, tuple)):
            if parents and list(param) == parents:
                found.append((at, "parents", None))
            elif any(type(value) is int and value in single for value in param):
                raise Unbindable("a sentinel inside a parameter")
        elif type(param) is int and param in single:
            found.append((at, *single[param]))
    if any(str(key) in sql for key in single):
        raise Unbindable("a sentinel in the text")
    return tuple(found)


class _Kept(threading.local):
    def __init__(self) -> None:
        self.statements: OrderedDict[tuple, tuple[Any, Statement | None]] = OrderedDict()


_kept = _Kept()


def clear() -> None:
    """Forget this thread's statements."""
    _kept.statements.clear()


def run(
    owner: Any,
    shape: tuple,
    keys: Keys,
    build: Build,
    *,
    caller: Any,
    stand_in: Any,
    count: bool = False,
) -> tuple[list[tuple] | int, Any]:
    """The rows (or their count) of the queryset `build` makes for `caller` and `keys`, and
    what else it gave.

    `shape` is what besides the keys the SQL may depend on (the caller's kind, the variables,
    the site in `owner`); `owner`, the read, is kept with its statements, so that its id names
    no other read while they are kept. `stand_in` is `caller` as a `StandIn`.
    """
    if not keys.bindable():
        return _built(build(caller, keys), count=count)
    statements = _kept.statements
    key = (id(owner), *shape, _length(keys))
    kept = statements.get(key)
    if kept is None:
        sentinels = keys.sentinels()
        try:
            queryset, extra = build(stand_in, sentinels)
            statement = statement_of(queryset, extra, sentinels, count=count)
        except (Unbindable, AttributeError):  # the stand-in lacks what the read looks at
            statement = None
        kept = statements[key] = (owner, statement)
        if len(statements) > KEPT:
            statements.popitem(last=False)
    else:
        statements.move_to_end(key)
    statement = kept[1]
    if statement is None:
        return _built(build(caller, keys), count=count)
    rows = statement.rows(keys)
    if count:
        return (rows[0][0] if rows else 0), statement.extra
    return rows, statement.extra


def _built(built: tuple[QuerySet, Any], *, count: bool) -> tuple[list[tuple] | int, Any]:
    """A queryset built for this request, read as Django reads it."""
    queryset, extra = built
    return (queryset.count() if count else list(queryset)), extra


def _length(keys: Keys) -> int | None:
    """The number of parents where the text has a parameter for each: not on PostgreSQL, whose
    `__in` is one array parameter (`backend.postgresql.lookups`)."""
    if keys.parents is None or connections["default"].vendor == "postgresql":
        return None
    return len(keys.parents)
