#!/usr/bin/env bash
# nginx for the proxy test (tests/integration/test_proxy.py runs deploy/nginx/default.conf).
# Needs root (or sudo) for apt-get. CI runs it; on a machine without it that test is skipped.
set -euo pipefail

if ! command -v nginx >/dev/null; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nginx-light
fi
nginx -v
