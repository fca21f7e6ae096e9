#!/usr/bin/env bash
# npm run bench:compare -- CALLS REV [REV...]
# The figures one change is judged by (`bench/run.ts --compare CALLS`: CALLS concurrent opens, then two
# windows of a CALLS-call step), for the build of each commit given, with this checkout's harness, emulator
# and load generator. Each commit is checked out into a temporary worktree (sharing node_modules) and built;
# nothing here is written to the repository. BENCHMARKS.md's "what each change bought" comes from this.
# A commit may be given more than once (interleave them: A B A B) to see the run-to-run spread.
# BENCH_FLAGS adds flags to each run (e.g. BENCH_FLAGS="--priority --workers 1").
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: npm run bench:compare -- CALLS REV [REV...]" >&2; exit 2; }
calls=$1; shift
root=$(git rev-parse --show-toplevel)
for rev in "$@"; do
  tmp=$(mktemp -d)
  dir="$tmp/bridge"
  git -C "$root" worktree add --detach -q "$dir" "$rev"
  trap 'git -C "$root" worktree remove --force "$dir" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
  ln -s "$root/node_modules" "$dir/node_modules"
  (cd "$dir" && node "$root/node_modules/typescript/bin/tsc" -p tsconfig.build.json)
  # node_modules is this checkout's: a commit that did not depend on bufferutil ran with ws's JS mask.
  if grep -q '"bufferutil"' "$dir/package.json"; then unset WS_NO_BUFFER_UTIL; else export WS_NO_BUFFER_UTIL=1; fi
  echo "== $(git -C "$root" rev-parse --short "$rev") $(git -C "$root" log -1 --format=%s "$rev" | cut -c1-100)"
  BENCH_BRIDGE_ROOT="$dir" tsx "$root/bench/run.ts" --no-build --compare "$calls" ${BENCH_FLAGS:-} | grep '^compare:' || echo "compare: failed"
  git -C "$root" worktree remove --force "$dir"
  rm -rf "$tmp"
  trap - EXIT
done
