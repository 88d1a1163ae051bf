"""The documents the apps send, kept in `clients/operations/`: one source for GraphiQL's preloaded
operations, both generated clients, the trusted documents' manifest, the query budgets and the
tests."""

from functools import cache
from pathlib import Path

from graphql import DocumentNode, FragmentSpreadNode, parse, print_ast, visit
from graphql.language import Visitor

OPERATIONS_DIR = Path(__file__).resolve().parents[2] / "clients" / "operations"
# GraphiQL opens on the first operation: the catalog, which anyone may run.
FIRST_FILE = "shop.graphql"

GRAPHIQL_HEADER = """\
# The operations the apps send (clients/operations/). Pick one with the run button's menu.
# Signed-in operations need a token: run ObtainToken (or sign in at /admin/), then set the
# Headers tab to {"Authorization": "Bearer <accessToken>"}. To watch an order change, run
# PlaceOrder, start WatchOrder with its id, then CancelOrder it from a second tab.
"""


def operation_files() -> list[Path]:
    files = sorted(OPERATIONS_DIR.glob("*.graphql"), key=lambda p: (p.name != FIRST_FILE, p.name))
    if not files:
        raise FileNotFoundError(f"no operations in {OPERATIONS_DIR}")
    return files


@cache
def source() -> str:
    """Every operation and fragment, as the files hold them."""
    return "\n".join(path.read_text() for path in operation_files())


@cache
def _document() -> DocumentNode:
    return parse(source())


def _spreads(node) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_):
            names.add(spread.name.value)

    visit(node, Collect())
    return names


def persisted_operations(document: DocumentNode) -> dict[str, str]:
    """Each named operation of a document, printed with every fragment it reaches: the operation
    first, then the fragments by name (the order of Apollo's `sortTopLevelDefinitions`), so that
    the same operation always prints, and hashes, the same."""
    definitions = document.definitions
    fragments = {d.name.value: d for d in definitions if d.kind == "fragment_definition"}
    printed: dict[str, str] = {}
    for op in definitions:
        if op.kind != "operation_definition" or op.name is None:
            continue
        reached: set[str] = set()
        pending = _spreads(op)
        while pending:
            fragment_name = pending.pop()
            if fragment_name not in reached:
                reached.add(fragment_name)
                pending |= _spreads(fragments[fragment_name])
        parts = [op, *(fragments[fragment_name] for fragment_name in sorted(reached))]
        printed[op.name.value] = "\n\n".join(print_ast(part) for part in parts)
    return printed


@cache
def _operations() -> dict[str, str]:
    return persisted_operations(_document())


def operation(name: str) -> str:
    """The document of one named operation with every fragment it reaches, as the trusted
    documents' manifest holds it."""
    return _operations()[name]


def operation_names() -> list[str]:
    return [d.name.value for d in _document().definitions if d.kind == "operation_definition"]


def graphiql_document() -> str:
    """What GraphiQL opens with: every operation, the catalog first."""
    return GRAPHIQL_HEADER + "\n" + source()
