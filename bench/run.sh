#!/usr/bin/env bash
# Builds the JMH benchmarks jar and runs one named benchmark set, writing JMH's JSON to
# bench/results/<set>.json.
#
#   bench/run.sh SET [extra JMH args...]      e.g.  bench/run.sh memory
#                                                   bench/run.sh memory -p percentSet=1
#   bench/run.sh --list                       list the sets and the benchmarks in the jar
#
# Sets: memory  (io.livemig.bench.memory: zero-page detection, dirty-bitmap scan)
#       all     (every benchmark)
#       any other word is taken as a JMH include regex and names the result file.
# Fork, warmup and measurement come from the benchmarks' annotations (1 fork, 3x1s warmup, 5x1s
# measurement); extra args override them (e.g. -f 3 -i 10).
# Env: LIVEMIG_BENCH_BUILD_DIR (default target-bench), LIVEMIG_BENCH_SKIP_BUILD=1 to reuse the jar.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup target-bench

if [ $# -lt 1 ]; then
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
  exit 2
fi

set_name=$1
shift
case $set_name in
  memory) include='io\.livemig\.bench\.memory\.' ;;
  all) include='io\.livemig\.bench\.' ;;
  --list) include='' ;;
  *) include=$set_name ;;
esac

bench_build_jar

java=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar")
if [ "$set_name" = --list ]; then
  echo "sets: memory all (or any JMH include regex)"
  exec "${java[@]}" -l
fi

mkdir -p "$here/results"
safe_name=$(printf '%s' "$set_name" | tr -c 'A-Za-z0-9._-' '_')
out="$here/results/$safe_name.json"
echo "bench: running '$include' -> $out" >&2
"${java[@]}" "$include" -rf json -rff "$out" "$@"
echo "bench: results in $out" >&2
