#!/usr/bin/env bash
# The set-up: installs the Debian packages the tests, the bench and the demo need. Which ones and why:
# scripts/system-packages.json (Chromium for playwright-core; ripgrep and libkrb5-dev for code-server; unzip,
# file, strace and advancecomp for the package stage; Debian's python3 with numpy, torch, pip, venv, ipykernel
# and nbconvert for the Python helper's tests; python3-onnx and OpenBLAS for the bench's model).
#   bash scripts/install-system-deps.sh                every group (a development machine, CI: .ci/run)
#   bash scripts/install-system-deps.sh code-server    only what the demo needs (npm run demo calls this)
# Uses sudo when not run as root. Idempotent and quick when everything is already there. `npm test` never runs
# it: it checks these packages and names this command when some are missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
missing="$(node "$here/systemDeps.mjs" missing "$@")"   # fails the script on an unknown group
need=()
[ -z "$missing" ] || mapfile -t need <<< "$missing"
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  echo "installed: ${need[*]}"
fi
