"""`__in` on PostgreSQL as `= ANY(%s)` with one array parameter.

Django writes `col IN (%s, %s, …)` with one placeholder per value, so a batched load of 3 ids
and one of 4 are two different SQL texts. psycopg caches the conversion of each text it sees
(an LRU of 128 entries), and the batched loads of this API (prefetches, the subscription
reload, the session check) vary in length with every burst: each new length is a new entry,
allocated among the live objects of the moment and freed later, which leaves a process's heap
full of holes that it cannot give back. With one array parameter, every length is one text.

Only a list of plain values is rewritten; a subquery, expressions among the values or a
multi-column relation are left to Django. The values are the ones Django prepared for `IN`
(None removed, an empty list still matches nothing), so the rows are the same.
"""

from __future__ import annotations

from django.db.models import Field, ForeignObject
from django.db.models.expressions import ColPairs
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In


class AnyArrayMixin:
    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value() or isinstance(self.lhs, ColPairs):
            return self.as_sql(compiler, connection)
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        if rhs_sql != "(" + ", ".join(["%s"] * len(rhs_params)) + ")":
            return self.as_sql(compiler, connection)
        return f"{lhs_sql} = ANY(%s)", (*lhs_params, list(rhs_params))


class AnyArrayIn(AnyArrayMixin, In):
    pass


class AnyArrayRelatedIn(AnyArrayMixin, RelatedIn):
    pass


def register() -> None:
    """Replace `__in` for every field; other databases keep Django's `IN (…)`."""
    Field.register_lookup(AnyArrayIn)
    ForeignObject.register_lookup(AnyArrayRelatedIn)
