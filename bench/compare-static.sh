#!/usr/bin/env bash
# Static precopy, livemig vs QEMU 7.2 side by side in one invocation (io.livemig.bench.compare.
# StaticMigrationComparison): RAM full of random data, source paused, loopback tcp, -M none; QEMU
# destination without and with prealloc, livemig with its default (background prefault) and with
# --prealloc off. Prints a table and ratios, writes bench/results/static-compare.json.
#
#   bench/compare-static.sh [--memory 1G] [--repeats 3] [--variants qemu-default,livemig,...]
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
  io.livemig.bench.compare.StaticMigrationComparison --out "$here/results/static-compare.json" \
  --work "$here/$build_dir/compare" "$@"
