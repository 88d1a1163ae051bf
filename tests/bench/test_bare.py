"""The benchmark's bare baseline (bench/bare/): for every operation the benchmark times, the
bare view answers the bytes the API answers, so that the ratio counts the whole stack and
nothing else."""

import io

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory

from bench.bare import settings as bare_settings
from bench.bare.views import VIEWS

pytestmark = [pytest.mark.django_db, pytest.mark.urls("bench.urls")]


def test_each_bare_answer_is_the_apis_byte_for_byte():
    from bench.__main__ import operations

    call_command("seed_bench", users=25, stdout=io.StringIO())
    ops = operations(None)
    assert {op.name for op in ops} == set(VIEWS)

    differences = []
    for op in ops:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {op.token}"} if op.token else {}
        api = Client(**headers).post(op.path, op.body, content_type="application/json")
        request = RequestFactory().post(op.bare_path, op.body, content_type="application/json")
        bare = VIEWS[op.name](request)
        assert api.status_code == bare.status_code == 200, op.label
        assert b'"errors"' not in api.content, (op.label, api.content[:300])
        if bare.content != api.content:
            differences.append((op.label, api.content[:300], bare.content[:300]))

        # Answers with rows in them, not two empty pages that happen to agree.
        assert b'"node":{' in api.content, op.label

    assert differences == []


def test_the_bare_app_has_no_middleware_and_no_cache():
    assert bare_settings.MIDDLEWARE == []
    assert not hasattr(bare_settings, "CACHES")  # Django's default: in-process, unused
    assert "django.contrib.sessions" not in bare_settings.INSTALLED_APPS
