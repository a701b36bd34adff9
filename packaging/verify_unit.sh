#!/usr/bin/env bash
# Checks packaging/ringshard.service with `systemd-analyze verify` (ctest
# integration.systemd_unit). Usage: verify_unit.sh UNIT RINGSHARD_BINARY
#
# verify wants the ExecStart binary to exist, so it checks a copy whose
# ExecStart names the built binary. Type=notify-reload and ReloadSignal=
# arrived in systemd 253; an older systemd-analyze (Debian 12 ships 252)
# rejects them, so there the copy says Type=notify and drops ReloadSignal=,
# and everything else is still verified. Exit 77 (skip) without
# systemd-analyze.
set -euo pipefail

unit=$1
binary=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not installed (Debian package systemd)"
  exit 77
fi
version=$(systemd-analyze --version | awk 'NR == 1 { print $2 }')
version=${version%%[^0-9]*}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
copy=$dir/ringshard.service
sed "s|^ExecStart=/usr/local/bin/ringshard |ExecStart=$binary |" "$unit" >"$copy"
if ! grep -q "^ExecStart=$binary " "$copy"; then
  echo "FAIL: ExecStart is not /usr/local/bin/ringshard with arguments"
  exit 1
fi
if ((version < 253)); then
  echo "note: systemd $version predates Type=notify-reload (253); verifying with Type=notify"
  sed -i -e 's/^Type=notify-reload$/Type=notify/' -e '/^ReloadSignal=/d' "$copy"
fi

status=0
output=$(systemd-analyze verify "$copy" 2>&1) || status=$?
# Only what is said about this unit counts: the host's own units may warn.
ours=$(grep -F "$copy" <<<"$output" || true)
if ((status != 0)) || [[ -n $ours ]]; then
  echo "FAIL: systemd-analyze verify (exit $status):"
  echo "$output"
  exit 1
fi

fail=0
expect() {
  if ! grep -qx -- "$1" "$unit"; then
    echo "FAIL: $unit lacks the line: $1"
    fail=1
  fi
}
expect "Type=notify-reload"
expect "ExecStart=/usr/local/bin/ringshard --config /etc/ringshard/ringshard.toml"
expect "WatchdogSec=30s"
expect "KillSignal=SIGTERM"
expect "Restart=on-failure"
expect "NoNewPrivileges=yes"
expect "ProtectSystem=strict"
expect "ProtectHome=yes"
expect "PrivateTmp=yes"
expect "LimitNOFILE=1048576"
# The drain (default 10s) must end before systemd's SIGKILL.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
if [[ -z $stop ]] || ((stop <= 10)); then
  echo "FAIL: TimeoutStopSec must be in seconds and above the 10s drain timeout"
  fail=1
fi
# A SystemCallFilter must allow io_uring, whatever groups it names.
while read -r line; do
  for call in io_uring_setup io_uring_enter io_uring_register; do
    if [[ $line == SystemCallFilter=~* ]] && grep -qw "$call" <<<"$line"; then
      echo "FAIL: $line denies $call"
      fail=1
    elif [[ $line != SystemCallFilter=~* ]] && ! grep -qw "$call" <<<"$line"; then
      echo "FAIL: $line does not allow $call explicitly"
      fail=1
    fi
  done
done < <(grep '^SystemCallFilter=' "$unit" || true)
if grep -q '^AmbientCapabilities=' "$unit"; then
  echo "FAIL: AmbientCapabilities= only for ports below 1024; the defaults are above"
  fail=1
fi
exit $fail
