#!/usr/bin/env bash
# The test command (README): installs what the tests can use (QEMU, huge pages; see
# install-test-deps.sh), then builds and runs every module's tests with the JDK 25 that ./mvnw finds,
# and prints how many KVM tests ran (they skip, with the reason, where /dev/kvm is unusable).
set -uo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
ci/install-test-deps.sh
./mvnw verify "$@"
rc=$?
for f in kvm/target/kvm-tests.txt; do
  [ -f "$f" ] && echo "ci: $(cat "$f")"
done
exit $rc
