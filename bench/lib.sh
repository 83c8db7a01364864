# shellcheck shell=bash
# Sourced by the bench scripts. bench_setup DEFAULT_BUILD_DIR finds a JDK 25 (../ci/jdk.sh) and sets
# here, root, build_dir (LIVEMIG_BENCH_BUILD_DIR or the default) and jar; bench_build_jar builds the
# benchmarks jar unless LIVEMIG_BENCH_SKIP_BUILD=1 and it exists.
bench_setup() {
  here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
  root=$(cd "$here/.." && pwd)
  # shellcheck source=../ci/jdk.sh
  . "$root/ci/jdk.sh"
  build_dir=${LIVEMIG_BENCH_BUILD_DIR:-$1}
  jar="$here/$build_dir/benchmarks.jar"
}

bench_build_jar() {
  if [ "${LIVEMIG_BENCH_SKIP_BUILD:-0}" != 1 ] || [ ! -f "$jar" ]; then
    echo "$(basename "$0" .sh): building $jar" >&2
    (cd "$root" && ./mvnw -q -pl bench -am package -DskipTests -Dlivemig.buildDir="$build_dir")
  fi
}
