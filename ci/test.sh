#!/usr/bin/env bash
# The test command (README): installs what the tests can use (QEMU, huge pages; see
# install-test-deps.sh), then builds and runs every module's tests with the JDK 25 that ./mvnw finds.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
ci/install-test-deps.sh
exec ./mvnw verify "$@"
