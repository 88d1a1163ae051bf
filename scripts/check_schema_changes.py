"""Fails on a breaking change to schema.graphql that CHANGELOG.md does not name.

Compares schema.graphql with its version at a git revision (default: the previous commit)
using graphql-core's `find_breaking_changes`. Each breaking change must be named in
CHANGELOG.md by its schema coordinate (`Product.price`, `OrderStatus.SHIPPED`), and a field
or enum value may only be removed once it was `@deprecated`. Dangerous changes are printed.

Usage: check_schema_changes.py [--base REV] [--schema PATH] [--changelog PATH]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from graphql import (
    BreakingChangeType,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)

ROOT = Path(__file__).resolve().parent.parent
_COORDINATE = re.compile(r"@?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(\w+:\))?")
_REMOVALS = {BreakingChangeType.FIELD_REMOVED, BreakingChangeType.VALUE_REMOVED_FROM_ENUM}


def coordinate(description: str, schema: GraphQLSchema) -> str:
    """The schema coordinate a change's description is about."""
    tokens = _COORDINATE.findall(description)
    for token in tokens:
        if "." in token or "(" in token or token.startswith("@"):
            return token.rstrip(".")
    return next((token for token in tokens if token in schema.type_map), description)


def was_deprecated(coordinate_: str, schema: GraphQLSchema) -> bool:
    type_name, _, member = coordinate_.partition(".")
    type_ = schema.type_map.get(type_name)
    if isinstance(type_, GraphQLEnumType):
        value = type_.values.get(member)
        return value is not None and value.deprecation_reason is not None
    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
        field = type_.fields.get(member)
        return field is not None and getattr(field, "deprecation_reason", None) is not None
    return False


def problems(old_sdl: str, new_sdl: str, changelog: str) -> list[str]:
    """What keeps the change from landing: unnamed breaking changes, undeprecated removals."""
    old, new = build_schema(old_sdl), build_schema(new_sdl)
    found = []
    for change in find_breaking_changes(old, new):
        named = coordinate(change.description, old)
        if change.type in _REMOVALS and not was_deprecated(named, old):
            found.append(f"{change.description} Deprecate it (@deprecated) in a release first.")
        elif f"`{named}`" not in changelog and named not in changelog.split():
            found.append(f"{change.description} CHANGELOG.md does not name `{named}`.")
    return found


def schema_at(revision: str, path: str) -> str | None:
    show = subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return show.stdout if show.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="git revision to compare with")
    parser.add_argument("--schema", default="schema.graphql")
    parser.add_argument("--changelog", default="CHANGELOG.md")
    args = parser.parse_args()
    old_sdl = schema_at(args.base, args.schema)
    if old_sdl is None:
        print(f"no {args.schema} at {args.base}: nothing to compare")
        return 0
    new_sdl = (ROOT / args.schema).read_text()
    changelog = (ROOT / args.changelog).read_text()
    for change in find_dangerous_changes(build_schema(old_sdl), build_schema(new_sdl)):
        print(f"dangerous: {change.description}")
    found = problems(old_sdl, new_sdl, changelog)
    for problem in found:
        print(f"BREAKING: {problem}")
    if not found:
        print(f"{args.schema}: no unnamed breaking change since {args.base}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
