"""Selection sets generated from the schema's introspection, for tests that must cover every field.

A field the schema adds later is covered without editing a test: each field is selected on its
own and all together; an object field is expanded to its scalar and enum subfields and, once
per type along the way, to its object subfields (a type met again is cut to its scalars, so
`User.orders` brings back `Order`'s scalars). Fields with a required argument are left out:
there is no value to generate for them.
"""

from functools import cache

from schema.schema import schema

LEAF_KINDS = ("SCALAR", "ENUM")


@cache
def _types() -> dict[str, dict]:
    return {t["name"]: t for t in schema.introspect()["__schema"]["types"]}


def _named_type(type_ref: dict) -> dict:
    while type_ref["kind"] in ("NON_NULL", "LIST"):
        type_ref = type_ref["ofType"]
    return type_ref


def _selectable(field: dict) -> bool:
    return not any(
        arg["type"]["kind"] == "NON_NULL" and arg["defaultValue"] is None for arg in field["args"]
    )


def field_selection(field: dict, path: tuple[str, ...]) -> str | None:
    """`name`, or `name { ... }` for an object field; None when nothing can be selected."""
    named = _named_type(field["type"])
    if named["kind"] in LEAF_KINDS:
        return field["name"]
    if named["kind"] != "OBJECT":
        return None  # interfaces and unions: none on these types yet
    inner = type_selection(named["name"], path)
    return f"{field['name']} {{ {inner} }}" if inner else None


def type_selection(type_name: str, path: tuple[str, ...] = ()) -> str:
    """Every selectable field of a type; only its leaves when it is already on the path."""
    fields = [f for f in _types()[type_name]["fields"] if _selectable(f)]
    if type_name in path:
        fields = [f for f in fields if _named_type(f["type"])["kind"] in LEAF_KINDS]
    parts = [field_selection(f, (*path, type_name)) for f in fields]
    return " ".join(p for p in parts if p)


def field_selections(type_name: str) -> dict[str, str]:
    """Each selectable field of a type alone (by name), and `*`: all of them together."""
    selections = {
        field["name"]: selection
        for field in _types()[type_name]["fields"]
        if _selectable(field) and (selection := field_selection(field, (type_name,)))
    }
    return {**selections, "*": " ".join(selections.values())}


def order_updated(selection: str) -> str:
    """A subscription to one order with the given selection."""
    return "subscription WatchOrder($id: ID!) { orderUpdated(id: $id) { " + selection + " } }"


def order_node(selection: str) -> str:
    """The same selection as a query: what a subscriber must be sent for the order's state."""
    return "query OrderNow($id: ID!) { node(id: $id) { ... on Order { " + selection + " } } }"
