#!/usr/bin/env bash
# Live precopy of the A-B guest, livemig vs QEMU 7.2 side by side in one invocation
# (io.livemig.bench.compare.LiveMigrationComparison): livemig run --machine auto --guest ab vs QEMU -M pc
# booting the same code as a 512-byte boot sector (AbBootSector), default migration parameters; total
# time and downtime. QEMU uses -accel kvm with /dev/kvm, else tcg (then not comparable: no ratio).
# Writes bench/results/live-compare.json.
#
#   bench/compare-live.sh [--memory 1G] [--repeats 3]
#
# Env: QEMU (default /usr/bin/qemu-system-x86_64), LIVEMIG_BENCH_BUILD_DIR (default target-bench),
#      LIVEMIG_BENCH_SKIP_BUILD=1 to reuse the jar. Wall-clock numbers: run on a quiet machine.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup target-bench
bench_build_jar
mkdir -p "$here/results"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$jar" \
  io.livemig.bench.compare.LiveMigrationComparison --out "$here/results/live-compare.json" \
  --work "$here/$build_dir/compare-live" "$@"
