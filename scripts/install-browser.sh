#!/usr/bin/env bash
# Chromium for the browser tests (tests/browser/, Playwright drives /usr/bin/chromium).
# Needs root (or sudo) for apt-get. CI runs it; on a machine without it those tests are skipped.
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
/usr/bin/chromium --version 2>/dev/null
