"""schema/core/compat.py: the library internals the project uses, fenced by version."""

import importlib
import inspect

import pytest

from schema.core import compat


def test_the_installed_libraries_are_the_series_it_was_written_for():
    compat.check_versions()  # raises otherwise


def test_another_release_series_is_refused_with_the_versions_named():
    installed = {"strawberry-graphql": "0.342.0", "strawberry-graphql-django": "0.93.1"}
    installed["graphql-core"] = "3.4.0"
    with pytest.raises(compat.IncompatibleLibrary) as refused:
        compat.check_versions(installed)
    message = str(refused.value)
    assert "strawberry-graphql 0.342.0 (written for 0.341.x)" in message
    assert "graphql-core 3.4.0 (written for 3.3.x)" in message
    assert "strawberry-graphql-django" not in message


@pytest.mark.parametrize(
    ("owner", "method", "parameters"),
    [
        (owner, method, parameters)
        for owner, methods in compat.OVERRIDDEN.items()
        for method, parameters in methods
    ],
)
def test_every_overridden_library_method_still_takes_what_it_is_given(owner, method, parameters):
    module, _, name = owner.rpartition(".")
    library_class = getattr(importlib.import_module(module), name)
    signature = inspect.signature(getattr(library_class, method))
    assert list(signature.parameters)[1 : 1 + len(parameters)] == list(parameters)


def test_the_pagination_patch_is_installed_once_the_schema_is_built():
    from schema.core import pagination
    from schema.schema import schema  # noqa: F401  (building it installs the patch)

    assert compat.cursor_connection.apply_cursor_pagination is pagination.apply_cursor_pagination
    assert (
        compat.DjangoCursorConnection.resolve_connection.__func__ is pagination._resolve_connection
    )
