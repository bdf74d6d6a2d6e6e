#!/usr/bin/env bash
# `npm test` from a clean clone that can see nothing beside itself: clones this checkout's HEAD into a
# new folder under /var/tmp, then runs `npm ci` and `npm test` in a mount namespace (unshare -m) where
# the folder holding this checkout, $HOME (npm cache, the user npmrc, caches) and /tmp are empty tmpfs mounts.
# A test that reads a file outside the repository, or a script that leans on a home-directory setting,
# fails here. Linux, as root (unshare -m). Arguments go to npm test, e.g.
#   bash scripts/test-isolated.sh --only=unit,package
# The clone is kept (its path is printed) so a failure can be looked at; remove it when done.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
parent="$(dirname "$src")"
[ "$parent" != "/" ] || { echo "test-isolated: the checkout's parent is /, which cannot be hidden" >&2; exit 2; }
base="$(mktemp -d /var/tmp/headlight-isolated-XXXXXX)"
case "$(realpath "$base")/" in "$(realpath "$parent")"/*|"$(realpath "$HOME")"/*|/tmp/*)
  echo "test-isolated: $base would be hidden too" >&2; exit 2;; esac
git clone -q "$src" "$base/headlight"
mkdir -p "$base/home"
cat > "$base/inner.sh" <<INNER
set -uo pipefail
mount --make-rprivate /
for d in "$parent" "$HOME" /tmp; do mount -t tmpfs none "\$d"; done
export HOME="$base/home" TMPDIR=/tmp npm_config_cache="$base/home/.npm"
cd "$base/headlight"
echo "isolated: \$(git log --oneline -1); $parent, the old \\\$HOME and /tmp are empty: [\$(ls -A "$parent" /tmp | tr '\n' ' ')]"
npm ci --no-audit --no-fund && npm test -- "\$@"
INNER
echo "clone: $base/headlight"
exec unshare -m bash "$base/inner.sh" "$@"
