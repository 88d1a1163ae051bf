#!/usr/bin/env bash
# Prometheus and promtool from Debian's package, for the checks of deploy/prometheus/ and the
# test that runs a real Prometheus against the app (tests/deploy/). Only the binaries are used:
# the package's service is not started. Needs root (or sudo) for apt-get. CI runs it; on a
# machine without them those tests are skipped.
set -euo pipefail

if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  # The package's scripts would start its service: policy-rc.d forbids that while it installs.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus
fi
prometheus --version 2>&1 | head -n 1
promtool --version 2>&1 | head -n 1
