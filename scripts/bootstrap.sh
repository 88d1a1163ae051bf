# Sourced by scripts/dev and scripts/test: a .venv with the locked dependencies.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
UV_VERSION="0.13.8"

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/uv --version 2>/dev/null | grep -q "$UV_VERSION"; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
# Installs exactly what uv.lock pins (fails if pyproject.toml and uv.lock disagree), compiled to
# bytecode once, the project's modules too: where PYTHONDONTWRITEBYTECODE is set, every process
# (the tests start many servers and workers) would otherwise compile every module again.
UV_PROJECT_ENVIRONMENT=.venv .venv/bin/uv sync --locked --quiet --compile-bytecode
.venv/bin/python -m compileall -q -j 0 apps backend schema bench tests >/dev/null
