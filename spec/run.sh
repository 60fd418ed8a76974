#!/usr/bin/env bash
# Runs the whole suite on Lua 5.4 and on LuaJIT against their own builds, with
# the local stand-in endpoint started before and stopped after, and ends with
# one line "N passed, N failed" counting every spec of both runtimes.
set -u
cd "$(dirname "$0")/.."
root=$PWD

work=$(mktemp -d /tmp/whatsapp-test.XXXXXX)
standin_pid="" h2_pid="" credsrv_pid=""
cleanup() {
  for pid in $h2_pid $standin_pid $credsrv_pid; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=spec/support/start-standin.sh
. spec/support/start-standin.sh
start_standin "$work" || { echo "0 passed, 1 failed"; exit 1; }
start_h2_front "$work" || { echo "0 passed, 1 failed"; exit 1; }
start_credsrv "$work" || { echo "0 passed, 1 failed"; exit 1; }

# The specs never see this machine's AWS settings: no AWS_* variable, an
# empty HOME (so no real ~/.aws), and no instance metadata service.
for var in $(compgen -e | grep '^AWS_'); do unset "$var"; done
mkdir -p "$work/home"
export HOME="$work/home" AWS_EC2_METADATA_DISABLED=true

passed=0 failed=0
for runtime in lua5.4 luajit; do
  echo "== $runtime"
  out="$work/$runtime.tap"
  # WA_BUILD (default build/) and WA_PRELOAD let `make check` run the sanitizer build;
  # WA_WRAP (a command prefix such as valgrind and its options) runs the runtime under
  # it, and only the runtime: busted starts no other process of its own
  launch=(busted --lua="$runtime")
  # shellcheck disable=SC2206 # WA_WRAP is a command line, split on purpose
  [ -n "${WA_WRAP:-}" ] && launch=($WA_WRAP "$runtime" "$(command -v busted)")
  WA_RUNTIME=$runtime LD_PRELOAD="${WA_PRELOAD:-}" \
    "${launch[@]}" --cpath="${WA_BUILD:-build}/$runtime/?.so" -o TAP "$@" >"$out" 2>&1
  cat "$out"
  p=$(grep -c '^ok ' "$out")
  f=$(grep -cE '(^|[^[:alnum:]])not ok [0-9]+ ' "$out")
  # a spec file that fails to load, or a crashed runtime, must not count as green
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if ! grep -q '^1\.\.[0-9]' "$out"; then f=$((f + 1)); echo "# $runtime: the run did not finish"; fi
  # a result line that stray output garbled counts as failed, never as missing
  planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)
  if [ -n "$planned" ] && [ $((p + f)) -lt "$planned" ]; then
    echo "# $runtime: $((planned - p - f)) result lines unreadable"
    f=$((planned - p))
  fi
  passed=$((passed + p)); failed=$((failed + f))
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
