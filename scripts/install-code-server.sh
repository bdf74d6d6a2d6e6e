#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3, the newest release that runs on Node 20) into a
# git-ignored cache folder, from the npm registry and Debian's packages only. A plain
# `npm install code-server` fails here twice (its postinstall refuses root, then downloads ripgrep
# from GitHub), so its postinstall is replayed by hand. Kept out of package.json so `npm ci` stays
# fast and cannot fail on it. Reused when already complete.
set -euo pipefail
export npm_config_yes=true          # node-pty's postinstall runs `npx node-gyp`
# argon2, node-pty & co. build from source against Node's headers. node-gyp would download them from
# nodejs.org (unreachable here); use the ones installed beside this node (Debian/NodeSource: <prefix>/include/node).
NODE_PREFIX="$(dirname "$(dirname "$(command -v node)")")"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$NODE_PREFIX/include/node/node_api.h" ]; then export npm_config_nodedir="$NODE_PREFIX"; fi
CS_VER=4.100.3
ROOT=${HEADLIGHT_CODE_SERVER_DIR:-"$(cd "$(dirname "$0")/.." && pwd)/.code-server"}
STAMP="$ROOT/.installed-$CS_VER"
[ -f "$STAMP" ] && exit 0
# ripgrep and libkrb5-dev: checked, not installed (the set-up does that: `npm run demo` runs it, `npm test` never).
node "$(dirname "$0")/systemDeps.mjs" check code-server
t0=$(date +%s)
rm -rf "$ROOT" && mkdir -p "$ROOT" && cd "$ROOT"
echo '{"name":"headlight-code-server","private":true}' > package.json
echo "installing code-server $CS_VER into $ROOT (about 2 minutes, once)…"
npm install "code-server@$CS_VER" --ignore-scripts --no-audit --no-fund --loglevel=error
npm rebuild argon2 --loglevel=error                         # no prebuilt download: builds from source
cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
mkdir -p node_modules/@vscode/ripgrep/bin                   # its postinstall would download rg
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
npm rebuild --loglevel=error >/dev/null                     # node-pty, spdlog, kerberos, watchers…
rm -rf node_modules.asar && ln -s node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
touch "$STAMP"
echo "code-server installed in $(( $(date +%s) - t0 )) s"
