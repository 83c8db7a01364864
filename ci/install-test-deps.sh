#!/usr/bin/env bash
# Installs what the test suite can use but does not require: QEMU 7.2 (interop tests; skipped without it)
# and a small reserve of 2 MiB huge pages (hugetlbfs tests; skipped without it). Needs root and apt-get
# for the install; without them it says what it skipped and carries on.
set -uo pipefail
want_hugepages=${LIVEMIG_TEST_HUGEPAGES:-64}

if command -v qemu-system-x86_64 >/dev/null 2>&1; then
  echo "ci: qemu present: $(qemu-system-x86_64 --version | head -n 1)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ci: installing qemu-system-x86 (QEMU interop tests) ..."
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq qemu-system-x86 >/dev/null; then
    echo "ci: qemu installed: $(qemu-system-x86_64 --version | head -n 1)"
  else
    echo "ci: WARNING: qemu install failed; QEMU interop tests will be skipped"
  fi
else
  echo "ci: qemu-system-x86_64 missing and cannot install (need root + apt-get); QEMU tests will be skipped"
fi

if [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/nr_hugepages ]; then
  have=$(cat /proc/sys/vm/nr_hugepages)
  if [ "$have" -lt "$want_hugepages" ]; then
    echo "$want_hugepages" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  fi
  echo "ci: 2 MiB huge pages reserved: $(cat /proc/sys/vm/nr_hugepages) (wanted $want_hugepages)"
else
  echo "ci: not root; huge pages left at $(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo '?') (hugetlbfs tests skip without them)"
fi
if [ -e /dev/kvm ]; then echo "ci: /dev/kvm present: KVM tests will run"; else echo "ci: /dev/kvm absent: KVM tests will be skipped with the reason"; fi
exit 0
