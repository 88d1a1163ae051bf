"""The TypeScript client (clients/typescript/): installed exactly as locked on the Node.js version
package.json names, its typed documents generated from schema.graphql and the apps' operations and
compiled under strict tsc, then driven with Apollo Client 4 against live development and
production servers, each with a real Celery worker (clients/typescript/test/apollo.test.ts)."""

import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from graphql import build_schema
from strawberry.relay import to_base64

from apps.catalog.models import Product
from apps.orders.models import Order, OrderStatus
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.live import DEVELOPMENT, PRODUCTION

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "clients" / "typescript"
NODE_PROJECTS = [PROJECT, ROOT / "frontend" / "graphiql"]
RESPONSE_KEYS = {"data", "errors", "extensions"}

pytestmark = pytest.mark.skipif(
    shutil.which("npm") is None, reason="needs Node.js and npm (clients/README.md)"
)


def npm(*args: str, env: dict[str, str] | None = None, timeout: int = 600):
    return subprocess.run(
        ["npm", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def generated() -> Path:
    """`npm ci` (exactly what package-lock.json pins; .npmrc refuses another Node.js version),
    then `npm run codegen`."""
    installed = npm("ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    codegen = npm("run", "codegen")
    assert codegen.returncode == 0, codegen.stdout + codegen.stderr
    return PROJECT / "src" / "generated"


@pytest.mark.parametrize("project", NODE_PROJECTS, ids=lambda path: path.name)
def test_every_locked_package_accepts_the_node_version_package_json_names(generated, project):
    """So that the README's Node.js version stays true, whatever Node.js runs the tests."""
    assert (project / ".npmrc").read_text().count("engine-strict=true") == 1
    engines = json.loads((project / "package.json").read_text())["engines"]["node"]
    # semver (a locked dev dependency of the client) checks each package's `engines` against the
    # oldest version package.json accepts.
    script = """
      const semver = require("semver");
      const [range, lockFile] = process.argv.slice(1);
      const oldest = semver.minVersion(range).version;
      const lock = require(lockFile);
      const refusing = Object.entries(lock.packages)
        .filter(([, p]) => p.engines && p.engines.node && !semver.satisfies(oldest, p.engines.node))
        .map(([path, p]) => `${path}@${p.version}: ${p.engines.node}`);
      console.log(JSON.stringify({ oldest, refusing }));
    """
    lock = str(project / "package-lock.json")
    result = subprocess.run(
        ["node", "-e", script, engines, lock],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    checked = json.loads(result.stdout)
    assert checked["oldest"].startswith("20."), engines
    assert checked["refusing"] == []


def test_generated_client_compiles_under_strict_tsc(generated):
    assert (generated / "graphql.ts").is_file()
    typecheck = npm("run", "typecheck")
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr


def test_typed_documents_for_every_operation_and_fragment(generated):
    code = (generated / "graphql.ts").read_text()
    operations = "\n".join(p.read_text() for p in sorted((ROOT / "clients/operations").iterdir()))
    names = re.findall(r"^(query|mutation|subscription|fragment) (\w+)", operations, flags=re.M)
    assert len(names) > 20
    for kind, name in names:
        if kind == "fragment":
            assert f"export const {name}FragmentDoc = " in code, name
        else:
            assert f"export const {name}Document = " in code, name
            assert f"as unknown as DocumentNode<{name}{kind.title()}, " in code, name


def test_possible_types_name_every_implementation_of_each_interface(generated):
    schema = build_schema((ROOT / "schema.graphql").read_text())
    expected = {
        name: sorted(t.name for t in schema.get_implementations(kind).objects)
        for name, kind in schema.type_map.items()
        if kind.ast_node is not None and kind.ast_node.kind == "interface_type_definition"
    }
    assert expected == {"Node": ["Order", "Product", "User"]}
    code = (generated / "possible-types.ts").read_text()
    literal = code.split("const result: PossibleTypesResultData = ", 1)[1].split(";", 1)[0]
    assert json.loads(literal) == {"possibleTypes": expected}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("settings_name", "command", "environment"),
    [("development", "runserver", DEVELOPMENT), ("production", "gunicorn", PRODUCTION)],
    ids=["development", "production"],
)
def test_apollo_client_against_a_live_server(
    generated, start_server, start_worker, tmp_path, settings_name, command, environment
):
    user = UserFactory()
    # Django's default hasher: the servers do not have the test settings' fast one.
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt())
    user.save(update_fields=["password"])
    cable = ProductFactory(sku="APOLLO-1", name="Cable", price=Decimal("10"), stock=5)
    dock = ProductFactory(sku="APOLLO-2", name="Dock", price=Decimal("149.50"), stock=3)
    ProductFactory(sku="APOLLO-3", name="Retired", is_active=False)
    server = start_server(command, **environment)
    worker = start_worker(**environment)
    report_file = tmp_path / "report.json"
    env = os.environ | {
        "SHOP_GRAPHQL_URL": server.http_url,
        "SHOP_EMAIL": user.email,
        "SHOP_PASSWORD": PASSWORD,
        "SHOP_REPORT": str(report_file),
    }

    run = npm("test", env=env, timeout=180)

    logs = f"\n--- server\n{server.output()[-4000:]}\n--- worker\n{worker.output()[-4000:]}"
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:] + logs
    report = json.loads(report_file.read_text())

    # Anonymous catalog: active products only, money as strings.
    assert report["catalog"] == {
        "totalCount": 2,
        "products": [
            {"sku": "APOLLO-1", "name": "Cable", "price": "10.00", "stock": 5, "isActive": True},
            {"sku": "APOLLO-2", "name": "Dock", "price": "149.50", "stock": 3, "isActive": True},
        ],
    }
    order = Order.objects.get(user=user)
    assert report["placed"] == {
        "id": to_base64("Order", order.pk),
        "status": "PENDING",
        "total": "169.50",
        "items": [
            {"sku": "APOLLO-1", "quantity": 2, "unitPrice": "10.00"},
            {"sku": "APOLLO-2", "quantity": 1, "unitPrice": "149.50"},
        ],
    }
    # The worker confirmed it (stock reserved) and the subscriber saw it happen.
    assert order.status == OrderStatus.CONFIRMED
    assert Product.objects.get(pk=cable.pk).stock == 3
    assert Product.objects.get(pk=dock.pk).stock == 2
    assert report["statuses"][-1] == "CONFIRMED"
    assert set(report["statuses"]) <= {"PENDING", "CONFIRMED"}
    assert report["possibleTypes"] == {"Node": ["Order", "Product", "User"]}

    exchanges = report["exchanges"]
    assert [e["operationName"] for e in exchanges][:3] == ["Catalog", "Catalog", "Catalog"]
    # Every response is a GraphQL response and nothing more (Apollo Client rejects other keys).
    assert all(set(e["topLevelKeys"]) <= RESPONSE_KEYS for e in exchanges), exchanges
    assert all(e["status"] == 200 for e in exchanges), exchanges
    executed = [e for e in exchanges if e["errorCodes"] == []]
    assert len(executed) >= 4, exchanges
    if settings_name == "development":
        # The debug toolbar and the statement count are on, outside the response's body.
        assert all(e["toolbarRequestId"] for e in exchanges), exchanges
        assert all(isinstance(e["extensions"]["sqlQueries"], int) for e in executed), exchanges
    else:
        assert not any(e["toolbarRequestId"] for e in exchanges), exchanges
        assert all(e["extensions"] is None for e in exchanges), exchanges
