#!/usr/bin/env bash
# The installed tree is enough to write a plugin: `cmake --install` into a
# temporary prefix, build plugins/hello out of tree against it
# (find_package(ringshard) -> ringshard::plugin), start the installed
# binary with that hello.so and ask it GET /hello/x with curl.
#
# Usage: plugin_install_test.sh SOURCE_DIR BUILD_DIR
# Exit 0 pass, 1 fail (with the logs), 77 skip (no curl or no ninja).
set -u

src=${1:?usage: plugin_install_test.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: plugin_install_test.sh SOURCE_DIR BUILD_DIR}
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }
command -v ninja >/dev/null || { echo "SKIP: ninja missing"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ringshard_install.XXXXXX")
rs_pid=
cleanup() {
  [[ -n $rs_pid ]] && kill "$rs_pid" 2>/dev/null && wait "$rs_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  for log in install configure build ringshard; do
    [[ -s "$work/$log.log" ]] && { echo "--- $log log"; tail -n 40 "$work/$log.log"; }
  done
  exit 1
}

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || fail "cmake --install"
for f in bin/ringshard include/ringshard/plugin.h include/ringshard/plugin.hpp \
         lib/libringshard_plugin.a lib/cmake/ringshard/ringshardConfig.cmake \
         lib/cmake/ringshard/ringshardConfigVersion.cmake lib/ringshard/plugins/hello.so; do
  [[ -e "$prefix/$f" ]] || fail "$f is not installed"
done

# Out of tree: nothing of the source tree but plugins/hello, copied away.
cp -r "$src/plugins/hello" "$work/hello-src"
cmake -S "$work/hello-src" -B "$work/hello" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" 2>&1 || fail "configuring hello against $prefix"
cmake --build "$work/hello" >"$work/build.log" 2>&1 || fail "building hello against $prefix"
so=$work/hello/hello.so
[[ -f $so ]] || fail "no $so"
# The SDK is hidden: the plugin exports its entry point and nothing of ours.
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBVW]$/ {print $3}' | grep -v '^_' | sort)
[[ $exported == ringshard_plugin_v1 ]] || fail "hello.so exports more than its entry: $exported"

"$prefix/bin/ringshard" --listen 127.0.0.1:0 --shards 1 --tls-listen off --admin-listen off \
  --data-dir "$work/data" --plugin "$so" >/dev/null 2>"$work/ringshard.log" &
rs_pid=$!
port=
for ((i = 0; i < 100; i++)); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$work/ringshard.log")
  [[ -n $port ]] && break
  kill -0 "$rs_pid" 2>/dev/null || fail "the installed ringshard exited"
  sleep 0.1
done
[[ -n $port ]] || fail "the installed ringshard did not log its port"
grep -q "plugin hello: version 1.0.0 ($so) started" "$work/ringshard.log" ||
  fail "the log does not name the plugin it loaded"
body=$(curl -fsS "http://127.0.0.1:$port/hello/x") || fail "GET /hello/x"
[[ $body == "Hello, x!" ]] || fail "GET /hello/x answered '$body'"

kill -TERM "$rs_pid"
wait "$rs_pid"
code=$?
rs_pid=
[[ $code == 0 ]] || fail "exit $code after SIGTERM"
echo "PASS: hello built against the installed tree ($prefix) and served GET /hello/x"
