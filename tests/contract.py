"""The contract's operations, read from ../shared/contract/ as the frontend apps send them."""

from functools import cache
from pathlib import Path

from graphql import DocumentNode, FragmentSpreadNode, parse, print_ast, visit
from graphql.language import Visitor

CONTRACT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "contract"


@cache
def _document() -> DocumentNode:
    files = sorted((CONTRACT_DIR / "operations").glob("*.graphql"))
    return parse("\n".join(path.read_text() for path in files))


def _spreads(node) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_):
            names.add(spread.name.value)

    visit(node, Collect())
    return names


@cache
def operation(name: str) -> str:
    """The document of one named operation with every fragment it reaches."""
    definitions = _document().definitions
    fragments = {d.name.value: d for d in definitions if d.kind == "fragment_definition"}
    (op,) = [d for d in definitions if d.kind == "operation_definition" and d.name.value == name]
    needed: dict[str, object] = {}
    pending = _spreads(op)
    while pending:
        fragment_name = pending.pop()
        if fragment_name not in needed:
            needed[fragment_name] = fragments[fragment_name]
            pending |= _spreads(fragments[fragment_name])
    return "\n\n".join(print_ast(d) for d in [op, *needed.values()])


def operation_names() -> list[str]:
    return [d.name.value for d in _document().definitions if d.kind == "operation_definition"]
