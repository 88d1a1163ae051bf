"""The TypeScript client (clients/typescript/): typed documents generated from schema.graphql and
the apps' operations compile under strict tsc."""

import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2] / "clients" / "typescript"

pytestmark = pytest.mark.skipif(
    shutil.which("npm") is None, reason="needs Node.js and npm (clients/README.md)"
)


def npm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["npm", *args], cwd=PROJECT, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def installed() -> Path:
    """`npm ci`: exactly what package-lock.json pins."""
    result = npm("ci", "--no-audit", "--no-fund", "--loglevel=error")
    assert result.returncode == 0, result.stdout + result.stderr
    return PROJECT


def test_generated_client_compiles_under_strict_tsc(installed):
    codegen = npm("run", "codegen")
    assert codegen.returncode == 0, codegen.stdout + codegen.stderr
    assert (installed / "src" / "generated" / "graphql.ts").is_file()
    typecheck = npm("run", "typecheck")
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr
