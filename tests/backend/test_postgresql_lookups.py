"""`__in` on PostgreSQL: one SQL text whatever the number of values, and Django's rows."""

import uuid

import pytest
from django.db import connection
from django.db.models import F, OuterRef, Subquery
from django.test.utils import CaptureQueriesContext

from apps.orders.models import Order
from apps.users.models import RefreshToken, User
from tests.factories import OrderFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def template(queryset) -> tuple[str, tuple]:
    return queryset.query.get_compiler(connection=connection).as_sql()


def test_every_number_of_ids_is_one_sql_text_with_one_array_parameter():
    texts = set()
    for n in range(1, 40):
        sql, params = template(User.objects.filter(pk__in=range(n)))
        texts.add(sql)
        assert params == (list(range(n)),)
    (sql,) = texts
    assert 'WHERE "users_user"."id" = ANY(%s)' in sql


def test_a_relation_and_a_uuid_are_rewritten_too():
    users = UserFactory.create_batch(3)
    sql, params = template(Order.objects.filter(user__in=users))
    assert '"orders_order"."user_id" = ANY(%s)' in sql
    assert params == ([user.pk for user in users],)
    families = [uuid.uuid4(), uuid.uuid4()]
    sql, params = template(RefreshToken.objects.filter(family__in=families))
    assert '"users_refreshtoken"."family" = ANY(%s)' in sql
    assert params == (families,)


def test_rows_are_the_ones_in_would_give():
    users = UserFactory.create_batch(4)
    OrderFactory(user=users[0])
    OrderFactory(user=users[2])
    ids = [users[0].pk, None, users[2].pk, users[2].pk, -1]
    assert sorted(User.objects.filter(pk__in=ids).values_list("pk", flat=True)) == sorted(
        {users[0].pk, users[2].pk}
    )
    emails = [users[1].email, "nobody@example.com"]
    assert list(User.objects.filter(email__in=emails)) == [users[1]]
    assert sorted(Order.objects.filter(user__in=users[:3]).values_list("user", flat=True)) == [
        users[0].pk,
        users[2].pk,
    ]


def test_nothing_to_match_runs_no_query():
    with CaptureQueriesContext(connection) as queries:
        assert list(User.objects.filter(pk__in=[])) == []
        assert list(User.objects.filter(pk__in=[None])) == []
    assert len(queries) == 0


def test_subqueries_and_expressions_are_left_to_django():
    user = UserFactory()
    OrderFactory(user=user)
    subquery = User.objects.filter(pk=user.pk).values("pk")
    sql, _ = template(Order.objects.filter(user__in=subquery))
    assert " IN (SELECT " in sql and "ANY" not in sql
    assert Order.objects.filter(user__in=subquery).count() == 1
    sql, _ = template(User.objects.filter(pk__in=[F("pk"), 0]))
    assert "IN (" in sql and "ANY" not in sql
    assert list(User.objects.filter(pk__in=[F("pk"), 0])) == [user]
    latest = Subquery(Order.objects.filter(user=OuterRef("pk")).values("pk")[:1])
    assert User.objects.annotate(latest=latest).filter(latest__in=[None, 0]).count() == 0


def test_a_prefetch_of_many_parents_sends_one_array():
    orders = [OrderFactory() for _ in range(5)]
    with CaptureQueriesContext(connection) as queries:
        loaded = list(Order.objects.filter(pk__in=[o.pk for o in orders]).prefetch_related("items"))
    assert len(loaded) == 5
    assert all(" IN (" not in query["sql"] for query in queries)
    assert sum("= ANY(" in query["sql"] for query in queries) == 2
