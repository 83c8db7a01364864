#!/usr/bin/env bash
# Regenerates the kernel ABI classes io.livemig.sys.abi.{KvmH,UserfaultfdH,VfioH,MmanH,ErrnoH,SignalH,SocketH,
# PollH,StatfsH,SyscallNr} from the installed Linux uAPI and glibc headers.
#
# Re-run (from anywhere; needs gcc and the linux-libc-dev headers):   native-bindings/gen/generate.sh
# then check:  ./mvnw -q -pl native-bindings test -Dtest=AbiGoldenTest -Dlivemig.buildDir=target-abi
#
# What to describe lives in probe.c (one line per constant, struct member and ioctl); emit-java.awk only lays
# the records out as Java. uAPI newer than the installed headers is hand-written in NewerUapi.java, not here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../src/main/java/io/livemig/sys/abi}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gcc -std=gnu11 -O0 -Wall -Werror -o "$tmp/probe" "$here/probe.c"
"$tmp/probe" gen > "$tmp/records"
mkdir -p "$out"
awk -v out="$out" -v script="native-bindings/gen/generate.sh" -f "$here/emit-java.awk" "$tmp/records"
echo "generate.sh: wrote $(grep -c '^class' "$tmp/records") classes to $out"
