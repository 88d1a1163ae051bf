"""schema.graphql is generated from the code and committed; it must not go stale."""

from pathlib import Path

from strawberry.printer import print_schema

from schema.schema import schema

ROOT = Path(__file__).resolve().parent.parent.parent


def test_committed_schema_matches_the_code():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed.strip() == print_schema(schema).strip(), (
        "schema.graphql is stale: run `.venv/bin/python manage.py export_schema "
        "schema.schema:schema --path schema.graphql` and commit it"
    )


def test_sdl_has_no_permission_directives():
    assert "@isAuthenticated" not in print_schema(schema)
