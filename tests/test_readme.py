"""The README's API examples, run as written against a live server with the demo data."""

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from strawberry.relay import from_base64, to_base64

from apps.catalog.models import Product
from apps.orders.models import Order

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SECTION = README.split("## The API by example", 1)[1].split("\n## ", 1)[0]
# Each bash block, split into its commands (blank lines between them).
BLOCKS = [
    [command.strip() for command in re.split(r"\n\s*\n", block) if command.strip()]
    for block in re.findall(r"```bash\n(.*?)```", SECTION, flags=re.S)
]
EXPECTED_FIRST = json.loads(re.search(r"```json\n(.*?)```", SECTION, flags=re.S).group(1))
# The order example names the third demo product by the id it has in a fresh database.
EXAMPLE_PRODUCT_ID = "UHJvZHVjdDoz"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command"),
]


def without_ids(value):
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def run(block: list[str], base_url: str, product_id: str) -> list[dict]:
    """Runs a block's commands in one shell, as a reader pasting them would; the JSON each
    printed (assignments print nothing)."""
    script = "set -euo pipefail\n" + "".join(
        f"{command}\necho\n" if command.startswith("curl") else f"{command}\n" for command in block
    )
    script = script.replace("http://127.0.0.1:8000", base_url)
    script = script.replace(EXAMPLE_PRODUCT_ID, product_id)
    result = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_the_readme_shows_the_catalog_then_signing_in_and_ordering():
    assert [len(block) for block in BLOCKS] == [1, 3]
    assert BLOCKS[1][0].startswith("ACCESS_TOKEN=$(curl")
    assert all(command.startswith("curl") for command in [*BLOCKS[0], *BLOCKS[1][1:]])


def test_the_curl_examples_answer_as_the_readme_shows(live_server):
    call_command("seed_demo", stdout=io.StringIO())
    third = Product.objects.order_by("pk")[2]
    assert from_base64(EXAMPLE_PRODUCT_ID) == ("Product", "3")
    product_id = to_base64("Product", third.pk)

    # Ids are the rows' own (database sequences differ between runs): compared by type.
    (answer,) = run(BLOCKS[0], live_server.url, product_id)
    assert without_ids(answer) == without_ids(EXPECTED_FIRST)
    edges = answer["data"]["products"]["edges"]
    assert {from_base64(edge["node"]["id"])[0] for edge in edges} == {"Product"}

    me, placed = run(BLOCKS[1], live_server.url, product_id)
    me = me["data"]["me"]
    assert me["email"] == "user@example.com"
    assert me["orderCount"] == 2
    assert [edge["node"]["status"] for edge in me["orders"]["edges"]] == ["CONFIRMED", "FAILED"]
    order = placed["data"]["createOrder"]
    assert order["status"] == "PENDING"
    assert order["total"] == str(third.price)
    assert order["items"] == [{"quantity": 1, "product": {"sku": third.sku}}]
    assert Order.objects.get(idempotency_key="checkout-1").user.email == "user@example.com"
