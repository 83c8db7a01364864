#!/usr/bin/env bash
# Multifd, livemig vs QEMU 7.2 side by side in one invocation (io.livemig.bench.compare.MultifdComparison):
# RAM full of deterministic pseudo-text (zlib level 1 ratio ~3.4), source paused, loopback tcp, -M none,
# multifd with 2 channels on both sides. Variants: multifd-compression none/zlib/zstd and zero-copy-send
# (compression none), each livemig->livemig and QEMU->QEMU. Reports migrate time, RAM GiB/s, wire MiB/s,
# source and destination CPU ms per GiB, the kernel's zero-copy verdict and livemig/qemu ratios; writes
# bench/results/multifd-compare.json.
#
#   bench/compare-multifd.sh [--memory 1G] [--repeats 3] [--multifd-channels 2] [--qemu-dest-prealloc]
#                            [--src-drop-cap-ipc-lock] [--variants qemu-none,livemig-none,...] [--out FILE]
#
# Env: QEMU (default /usr/bin/qemu-system-x86_64), LIVEMIG_BENCH_BUILD_DIR (default target-cmp),
#      LIVEMIG_BENCH_SKIP_BUILD=1 to reuse the jar. Wall-clock and CPU numbers: run on a quiet machine.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup target-cmp
bench_build_jar
mkdir -p "$here/results"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$jar" \
  io.livemig.bench.compare.MultifdComparison --out "$here/results/multifd-compare.json" \
  --work "$here/$build_dir/compare" "$@"
