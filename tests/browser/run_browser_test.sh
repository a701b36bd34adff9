#!/usr/bin/env bash
# The browser tests' runner: headless Chromium (Debian's, /usr/bin/chromium)
# driven by playwright-core through SCRIPT (a .js beside this file) against
# the ringshard binary: ctest integration.ws_browser (ws_browser_test.js,
# the /ws/demo page) and integration.deployments_console (console_test.js,
# the deployment API's /v1/console).
#
#   run_browser_test.sh SCRIPT RINGSHARD BUILD_DIR
#
# playwright-core (the version pinned in package.json beside this script) is
# installed with npm into BUILD_DIR/browser-node, once: a later run that
# finds that version there does not touch the network. Nothing is written
# into the source tree. Exit 77 (ctest: skipped) when node, npm or chromium
# is missing, or npm cannot fetch the package; the reason is printed.
set -euo pipefail

usage="usage: run_browser_test.sh SCRIPT RINGSHARD BUILD_DIR"
script=${1:?$usage}
binary=${2:?$usage}
build=${3:?$usage}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
chromium=${RINGSHARD_CHROMIUM:-/usr/bin/chromium}
prefix="$build/browser-node"

skip() {
  echo "SKIP: $*"
  exit 77
}

command -v node >/dev/null || skip "node is not installed (scripts/install-deps.sh installs it)"
command -v npm >/dev/null || skip "npm is not installed (scripts/install-deps.sh installs it)"
[[ -x "$chromium" ]] || skip "$chromium is missing (scripts/install-deps.sh installs chromium)"

pinned=$(node -p "require('$here/package.json').dependencies['playwright-core']")
installed=$(node -p "try { require('$prefix/node_modules/playwright-core/package.json').version }
                     catch (e) { '' }")
if [[ "$installed" != "$pinned" ]]; then
  echo "installing playwright-core $pinned into $prefix"
  mkdir -p "$prefix"
  # --install-links copies this folder as a package instead of linking it,
  # so its dependencies land under $prefix, not in the source tree.
  if ! npm install --prefix "$prefix" --install-links --no-audit --no-fund \
      --loglevel=error "$here" >"$prefix/npm.log" 2>&1; then
    cat "$prefix/npm.log"
    skip "npm could not install playwright-core $pinned (no network?)"
  fi
fi

exec node "$here/$script" "$binary" "$prefix/node_modules" "$chromium"
