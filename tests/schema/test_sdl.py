"""schema.graphql is generated from the code and committed; it must not go stale."""

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    get_named_type,
    specified_scalar_types,
)
from strawberry.printer import print_schema

from apps.orders import models as order_models
from apps.users import models as user_models
from schema.core.connections import ARGUMENT_DESCRIPTIONS
from schema.core.limits import is_relay_connection
from schema.orders.enums import OrderStatus
from schema.schema import schema
from schema.users.enums import UserRole

ROOT = Path(__file__).resolve().parent.parent.parent


def test_committed_schema_matches_the_code():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed.strip() == print_schema(schema).strip(), (
        "schema.graphql is stale: run `.venv/bin/python manage.py export_schema "
        "schema.schema:schema --path schema.graphql` and commit it"
    )


def test_sdl_has_no_permission_directives():
    assert "@isAuthenticated" not in print_schema(schema)


def _undocumented(graphql_schema: GraphQLSchema) -> list[str]:
    """Every element of the schema a client reads without a description, as `Type.field(arg)`.

    Introspection types (`__*`) and graphql-core's built-in scalars are the spec's own.
    """
    missing: list[str] = []

    def check(element: object, where: str) -> None:
        if not (element.description or "").strip():
            missing.append(where)

    for name, graphql_type in sorted(graphql_schema.type_map.items()):
        if name.startswith("__") or name in specified_scalar_types:
            continue
        check(graphql_type, name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                check(field, f"{name}.{field_name}")
                for arg_name, arg in field.args.items():
                    check(arg, f"{name}.{field_name}({arg_name})")
        elif isinstance(graphql_type, GraphQLInputObjectType):
            for field_name, field in graphql_type.fields.items():
                check(field, f"{name}.{field_name}")
        elif isinstance(graphql_type, GraphQLEnumType):
            for value_name, value in graphql_type.values.items():
                check(value, f"{name}.{value_name}")
    return missing


def test_every_element_of_the_schema_has_a_description():
    missing = _undocumented(schema._schema)
    assert not missing, f"{len(missing)} schema elements without a description:\n" + "\n".join(
        missing
    )


def test_the_description_check_finds_what_is_missing():
    """The walk reaches every kind of element: a schema with none documented lists them all."""
    bare = build_schema(
        """
        enum Colour { RED }
        input Paint { colour: Colour }
        interface Thing { id: ID! }
        type Query implements Thing { id: ID! paint(with: Paint): Colour }
        scalar Money
        """
    )
    assert _undocumented(bare) == [
        "Colour",
        "Colour.RED",
        "Money",
        "Paint",
        "Paint.colour",
        "Query",
        "Query.id",
        "Query.paint",
        "Query.paint(with)",
        "Thing",
        "Thing.id",
    ]


def test_every_connection_describes_its_list_arguments():
    """Each connection field is declared with `schema.core.connections.connection`, whose arguments
    tell the page sizes and cursor rules (the libraries' own text knows nothing of them)."""
    connections = [
        (f"{type_name}.{field_name}", field)
        for type_name, graphql_type in schema._schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and not type_name.startswith("__")
        for field_name, field in graphql_type.fields.items()
        if is_relay_connection(get_named_type(field.type))
    ]
    assert sorted(name for name, _ in connections) == [
        "Query.orders",
        "Query.products",
        "Query.users",
        "User.orders",
    ]
    for name, field in connections:
        described = {arg: field.args[arg].description for arg in ARGUMENT_DESCRIPTIONS}
        assert described == ARGUMENT_DESCRIPTIONS, name


@pytest.mark.parametrize(
    ("graphql_enum", "choices"),
    [(OrderStatus, order_models.OrderStatus), (UserRole, user_models.UserRole)],
)
def test_described_enums_offer_exactly_the_models_choices(graphql_enum, choices):
    assert {member.name: member.value for member in graphql_enum} == {
        member.name: member.value for member in choices
    }
