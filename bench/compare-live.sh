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

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=../ci/jdk.sh
. "$(dirname "$0")/../ci/jdk.sh"

build_dir=${LIVEMIG_BENCH_BUILD_DIR:-target-bench}
jar="$here/$build_dir/benchmarks.jar"
if [ "${LIVEMIG_BENCH_SKIP_BUILD:-0}" != 1 ] || [ ! -f "$jar" ]; then
  echo "bench: building $jar" >&2
  (cd "$root" && ./mvnw -q -pl bench -am package -DskipTests -Dlivemig.buildDir="$build_dir")
fi
mkdir -p "$here/results"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$jar" \
  io.livemig.bench.compare.LiveMigrationComparison --out "$here/results/live-compare.json" \
  --work "$here/$build_dir/compare-live" "$@"
