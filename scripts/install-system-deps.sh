#!/usr/bin/env bash
# Debian packages the tests and the demo need: Chromium (driven by playwright-core), ripgrep (code-server's
# search binary, which its own install would download from GitHub), libkrb5-dev (a code-server native module).
# unzip opens the .vsix files and file names each native binary's format and architecture in the package
# stage; strace shows the network test every socket an explain opens; advzip (advancecomp) re-deflates
# each .vsix smaller (scripts/package.mjs). The Python helper's tests (python/, run from
# test/unit/notebook/kernel.test.ts) need Debian's python3 with numpy and torch, pip + setuptools + wheel + venv to
# `pip install ./python` offline, and ipykernel + nbconvert to run the sample notebook with a real kernel.
# Idempotent and quick when everything is already there.
set -euo pipefail
need=()
for p in chromium ripgrep libkrb5-dev unzip file strace advancecomp \
  python3 python3-numpy python3-torch python3-pip python3-setuptools python3-wheel python3-venv python3-ipykernel jupyter-nbconvert; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  echo "installed: ${need[*]}"
fi
