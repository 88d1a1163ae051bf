"""Fixtures of the schema layer's tests."""

from __future__ import annotations

import pytest

from schema.core.compiled import CompiledOperations


@pytest.fixture
def answered(monkeypatch) -> list[bool]:
    """Whether each call of the compiled path answered (True) or left it to execution."""
    calls: list[bool] = []
    original = CompiledOperations.answer

    def spy(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(CompiledOperations, "answer", spy)
    return calls
