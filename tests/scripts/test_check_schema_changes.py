"""scripts/check_schema_changes.py: a breaking change lands only when CHANGELOG.md names it, and a
removal only after a deprecation."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_schema_changes.py"
spec = importlib.util.spec_from_file_location("check_schema_changes", SCRIPT)
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)

OLD = """
type Query { product: Product }
type Product { name: String! price: String @deprecated(reason: "use cost") cost: String }
enum Status { OPEN CLOSED SHIPPED @deprecated(reason: "never used") }
input Filter { status: Status }
"""


def test_additions_need_no_changelog_entry():
    new = OLD.replace("cost: String }", "cost: String sku: String }")
    assert check.problems(OLD, new, changelog="") == []


def test_a_type_change_needs_its_coordinate_in_the_changelog():
    new = OLD.replace("name: String!", "name: Int!")
    assert check.problems(OLD, new, changelog="") == [
        "Field Product.name changed type from String! to Int!. "
        "CHANGELOG.md does not name `Product.name`."
    ]
    assert check.problems(OLD, new, changelog="- `Product.name` is now an Int.") == []


def test_a_new_required_input_field_is_breaking():
    new = OLD.replace("input Filter { status: Status }", "input Filter { status: Status q: Int! }")
    assert len(check.problems(OLD, new, changelog="")) == 1
    assert check.problems(OLD, new, changelog="`Filter.q` is required") == []


def test_a_field_is_removed_only_once_it_was_deprecated():
    without_price = OLD.replace('price: String @deprecated(reason: "use cost") ', "")
    assert check.problems(OLD, without_price, changelog="`Product.price` removed") == []
    without_name = OLD.replace("name: String! ", "")
    (problem,) = check.problems(OLD, without_name, changelog="`Product.name` removed")
    assert "Deprecate it" in problem


def test_an_enum_value_is_removed_only_once_it_was_deprecated():
    without_shipped = OLD.replace(' SHIPPED @deprecated(reason: "never used")', "")
    assert check.problems(OLD, without_shipped, changelog="`Status.SHIPPED` removed") == []
    without_closed = OLD.replace(" CLOSED", "")
    (problem,) = check.problems(OLD, without_closed, changelog="`Status.CLOSED` removed")
    assert "Enum value Status.CLOSED was removed" in problem
