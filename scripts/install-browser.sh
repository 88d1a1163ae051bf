#!/usr/bin/env bash
# CI (and anyone running tests/browser/): Chromium for Playwright, and GraphiQL's assets
# served locally (the browser test runs offline). Needs root (or sudo) for apt-get, and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
echo "$(/usr/bin/chromium --version 2>/dev/null)"

scripts/build-graphiql.sh
