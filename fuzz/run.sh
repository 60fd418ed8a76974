#!/usr/bin/env bash
# `make fuzz`: runs each libFuzzer target (built by make into build/fuzz/) for
# FUZZ_SECONDS seconds (default 60) on one core, starting from the committed
# seeds in fuzz/corpus/<target>/ plus what earlier runs found
# (build/fuzz/corpus/<target>/, which is where new inputs go: the committed
# seeds are never written). Fails on any finding: a crash, a sanitizer report,
# a leak, a broken invariant, a slow input (over 10 s) or a blown memory
# limit. The input that did it is saved under build/fuzz/findings/; replay it
# with build/fuzz/<target> build/fuzz/findings/<file>.
#   FUZZ_TARGETS="encode sigv4" FUZZ_SECONDS=20 bash fuzz/run.sh
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-response encode json_text sigv4 head}
failed=0
mkdir -p build/fuzz/findings
for t in $targets; do
  mkdir -p "build/fuzz/corpus/$t"
  log="build/fuzz/$t.log"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="build/fuzz/findings/$t-" \
    "build/fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "fuzz $t: ${runs:-?} runs in ${secs} s, ${cov:-cov: ?}, exit $rc"
  if [ "$rc" -ne 0 ] || [ -z "$runs" ]; then
    failed=$((failed + 1))
    grep -v '^#\|^INFO:' "$log" | tail -60
  fi
done
[ "$failed" -eq 0 ] || { echo "fuzz: $failed target(s) with findings"; exit 1; }
