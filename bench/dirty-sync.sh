#!/usr/bin/env bash
# Dirty-tracking microbenchmarks (io.livemig.bench.dirty): the cost of one dirty sync for 1, 4 and 16 GiB
# of guest RAM with 0 %, 1 % and 100 % of the pages dirty, per backend:
#   software                  the Java machine's software bitmap (runs anywhere)
#   get-log, clear-log-256k, clear-log-1g, ring-4096, ring-65536   real KvmMachine + scripted guest
#                             (need /dev/kvm; skipped here, with the reason, when it does not open read-write)
# Builds the JMH jar, runs with explicit fork/warmup/measurement (1 fork, 3x1s warmup, 5x1s measurement),
# writes JMH's JSON to bench/results/dirty-sync.json and prints (and saves to
# bench/results/dirty-sync-summary.txt) a table: RAM x dirty % x backend -> ns/sync, pages/s, with the
# load average before and after the run.
#
#   bench/dirty-sync.sh [extra JMH args...]     e.g.  bench/dirty-sync.sh -p ramGiB=1
#
# Env: LIVEMIG_BENCH_BUILD_DIR (default target-dsb), LIVEMIG_BENCH_SKIP_BUILD=1 to reuse the jar,
#      LIVEMIG_DIRTY_SYNC_KVM=always to include the KVM benchmarks even without /dev/kvm (each then fails
#      at @Setup with the reason), =never to leave them out.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup target-dsb
out="$here/results/dirty-sync.json"
summary="$here/results/dirty-sync-summary.txt"

bench_build_jar

kvm_mode=${LIVEMIG_DIRTY_SYNC_KVM:-auto}
kvm_reason=
if [ ! -e /dev/kvm ]; then
  kvm_reason="/dev/kvm does not exist (no KVM module, or this host is a guest without nested virtualisation)"
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
  kvm_reason="/dev/kvm is not readable and writable by $(id -un)"
fi
case $kvm_mode in
  always) include='io\.livemig\.bench\.dirty\.' ;;
  never) include='io\.livemig\.bench\.dirty\.SoftwareDirtySyncBenchmark'; kvm_reason="left out (LIVEMIG_DIRTY_SYNC_KVM=never)" ;;
  auto)
    if [ -z "$kvm_reason" ]; then include='io\.livemig\.bench\.dirty\.'
    else include='io\.livemig\.bench\.dirty\.SoftwareDirtySyncBenchmark'; fi ;;
  *) echo "dirty-sync: LIVEMIG_DIRTY_SYNC_KVM=$kvm_mode, expected auto, always or never" >&2; exit 2 ;;
esac
if [ "$include" != 'io\.livemig\.bench\.dirty\.' ]; then
  echo "dirty-sync: skipping the KVM benchmarks (get-log, clear-log, ring): $kvm_reason" >&2
fi

mkdir -p "$here/results"
load_before=$(cat /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "dirty-sync: $started loadavg before: $load_before ($(nproc) CPUs)" >&2
echo "dirty-sync: running '$include' -> $out" >&2
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" "$include" \
  -f 1 -wi 3 -w 1s -i 5 -r 1s -rf json -rff "$out" "$@"
load_after=$(cat /proc/loadavg)

# pages per sync = (ramGiB << 18) * dirtyPercent / 100, as DirtyPageSelection.dirtyPages computes it.
{
  echo "dirty sync, $started, $(nproc) CPUs, loadavg before: $load_before, after: $load_after"
  echo "JMH: 1 fork, 3x1s warmup, 5x1s measurement; avg time per sync (+- 99.9% CI); results: $out"
  [ "$include" = 'io\.livemig\.bench\.dirty\.' ] || echo "KVM backends not run: $kvm_reason"
  jq -r '.[]
    | (.params.ramGiB | tonumber) as $gib | (.params.dirtyPercent | tonumber) as $pct
    | (if .benchmark | endswith("SoftwareDirtySyncBenchmark.sync") then "software" else .params.tracker end) as $backend
    | ((($gib * 262144 * $pct) / 100) | floor) as $pages
    | [$gib, $pct, $backend, .primaryMetric.score, (.primaryMetric.scoreError // 0), $pages,
       (if .primaryMetric.score > 0 then $pages / .primaryMetric.score * 1e9 else 0 end)]
    | @tsv' "$out" \
  | sort -t $'\t' -k3,3 -k1,1n -k2,2n \
  | awk -F '\t' 'BEGIN { printf "%-7s %-7s %-15s %15s %13s %11s %15s\n", "RAM", "dirty", "backend", "ns/sync", "+-", "pages/sync", "pages/s" }
                 { printf "%-7s %-7s %-15s %15.0f %13.0f %11d %15.3e\n", $1 " GiB", $2 " %", $3, $4, $5, $6, $7 }'
} | tee "$summary"
