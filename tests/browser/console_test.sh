#!/usr/bin/env bash
# ctest integration.deployments_console: headless Chromium (Debian's,
# /usr/bin/chromium) driven by playwright-core through the deployment API's
# console page, /v1/console (console_test.js says what it checks).
#
#   console_test.sh RINGSHARD BUILD_DIR
#
# playwright-core (the version pinned in package.json beside this script) is
# installed with npm into BUILD_DIR/browser-node once, shared with
# ws_browser_test.sh. Nothing is written into the source tree. Exit 77
# (ctest: skipped) when node, npm or chromium is missing, or npm cannot
# fetch the package; the reason is printed.
set -euo pipefail

binary=${1:?usage: console_test.sh RINGSHARD BUILD_DIR}
build=${2:?usage: console_test.sh RINGSHARD BUILD_DIR}
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
  if ! npm install --prefix "$prefix" --install-links --no-audit --no-fund \
      --loglevel=error "$here" >"$prefix/npm.log" 2>&1; then
    cat "$prefix/npm.log"
    skip "npm could not install playwright-core $pinned (no network?)"
  fi
fi

exec node "$here/console_test.js" "$binary" "$prefix/node_modules" "$chromium"
