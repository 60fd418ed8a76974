#!/usr/bin/env bash
# `make valgrind`: the whole suite (or the spec files given) on Lua 5.4 and
# LuaJIT, each runtime under valgrind memcheck, and the finalizer hammer (a
# runtime the finalizer spec starts) too. Nothing else runs under it: valgrind
# does not follow exec, so the stand-in, nginx, luarocks, gcc and the shells
# the specs start run natively. Fails on any invalid access, use of
# uninitialised memory or definite leak.
#
# No suppression file: the states are closed at exit (busted returns from
# its main chunk when every spec passed and calls os.exit(code, true)
# otherwise; the hammer calls os.exit(code, true)), so whatever our core
# allocated is either freed or definitely lost. What libcurl and OpenSSL keep
# from their global init stays reachable, which is not counted as an error.
# LuaJIT runs without trouble, but its objects (userdata, strings) live in its
# own mmap'd heap that memcheck does not see: there only malloc'd memory
# (ours, libcurl's, OpenSSL's) is checked; Lua 5.4 allocates through realloc
# and is checked whole.
set -u
cd "$(dirname "$0")/../.."
logs=$(mktemp -d /tmp/whatsapp-valgrind.XXXXXX)
vg="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite"
vg="$vg --keep-debuginfo=yes --num-callers=40 --child-silent-after-fork=yes --error-exitcode=99"
vg="$vg --log-file=$logs/vg.%p.log"

WA_WRAP="$vg" WA_CHILD_WRAP="$vg" bash spec/run.sh "$@"
rc=$?

runs=0 bad=0
for log in "$logs"/vg.*.log; do
  [ -e "$log" ] || continue
  summary=$(grep -h "ERROR SUMMARY:" "$log") || continue
  runs=$((runs + 1))
  if ! grep -q "ERROR SUMMARY: 0 errors" <<<"$summary"; then
    bad=$((bad + 1))
    echo "== valgrind: $(grep -m1 -h 'Command:' "$log" | sed 's/^==[0-9]*== //')"
    sed 's/^==[0-9]*== //' "$log"
  fi
done
if [ "$runs" -lt 2 ]; then echo "valgrind: the runtimes did not run under memcheck"; bad=$((bad + 1)); fi
if [ "$bad" -eq 0 ] && [ "$rc" -eq 0 ]; then
  echo "valgrind: $runs runs under memcheck, no error, no definite leak"
  rm -rf "$logs"
else
  echo "valgrind: $runs runs under memcheck, $bad with errors; suite exit $rc (logs in $logs)"
  exit 1
fi
