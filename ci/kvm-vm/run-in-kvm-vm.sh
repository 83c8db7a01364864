#!/usr/bin/env bash
# Run a command inside a throw-away QEMU VM that has a working /dev/kvm, on hosts that have none.
#
#   ci/kvm-vm/run-in-kvm-vm.sh [options] -- COMMAND [ARG...]
#
# The VM is a Debian kernel booted by QEMU with software emulation (TCG) and an emulated AMD CPU with
# SVM + nested paging, so kvm_amd loads inside it and /dev/kvm works (nested KVM under TCG). The host's
# root filesystem is shared into the VM read-only (9p) at the same paths, under a tmpfs overlay, so
# /work/main/... and /usr/lib/jvm/... are where they are on the host and writes succeed but are thrown
# away when the VM stops. Directories given with --rw are shared read-write at the same path instead;
# what COMMAND writes there stays on the host. COMMAND runs as root, with the host's environment and
# working directory; its stdout and stderr come out on this script's stdout and stderr, and this script
# exits with COMMAND's exit code (124 on --timeout, 125 when the VM itself failed). No stdin.
#
# Options:
#   --timeout SECONDS  kill the VM after this long (default 1800)
#   --rw DIR           share DIR read-write at the same path (repeatable)
#   --mem MIB          guest RAM in MiB (default 3072)
#   --smp N            guest vCPUs (default: min(2, host CPUs)); TCG runs one host thread per vCPU
#   --verbose          show the VM's console (kernel log, module loading) on stderr as it happens
#   --keep             keep the run directory (console log, control files) and print its path
#   --prepare          only download/build the cached kernel + initramfs, then exit
# Environment:
#   LIVEMIG_KVM_VM_CACHE       cache directory (default /var/cache/livemig-kvm-vm, else /tmp/livemig-kvm-vm-cache)
#   LIVEMIG_KVM_VM_SUITE       where the kernel comes from: backports (default; bookworm-backports = 6.12)
#                              or host (the host's apt sources; bookworm = 6.1)
#   LIVEMIG_KVM_VM_KERNEL_PKG  Debian kernel package to boot (default: what linux-image-amd64 depends on)
#   LIVEMIG_KVM_VM_CPU         QEMU -cpu model (default max: with TCG, an AMD CPU with svm+npt)
#   LIVEMIG_KVM_VM_ACCEL       QEMU -accel (default tcg,thread=multi)
#   LIVEMIG_KVM_VM_9P          9p mount options for the host root (default msize=512000,cache=loose)
#   QEMU                       QEMU binary (default qemu-system-x86_64 on PATH)
set -euo pipefail
# The whole body is one { ... } block: bash parses it before running it, so editing or replacing this
# file while a VM runs (a long test, a git checkout) cannot make a running instance execute other lines.
{

me=$(basename "$0")
die() { echo "$me: error: $*" >&2; exit 125; }
note() { echo "$me: $*" >&2; }

timeout_s=1800 mem=3072 verbose=0 keep=0 prepare_only=0
smp=$(nproc 2>/dev/null || echo 1); [ "$smp" -gt 2 ] && smp=2
rw_dirs=()
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) timeout_s=${2:?--timeout needs SECONDS}; shift 2 ;;
    --rw) rw_dirs+=("$(realpath -e -- "${2:?--rw needs DIR}")") || die "--rw $2: no such directory"; shift 2 ;;
    --mem) mem=${2:?--mem needs MiB}; shift 2 ;;
    --smp) smp=${2:?--smp needs N}; shift 2 ;;
    --verbose) verbose=1; shift ;;
    --keep) keep=1; shift ;;
    --prepare) prepare_only=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (usage: $me [--timeout SECONDS] [--rw DIR]... -- COMMAND [ARG...])" ;;
  esac
done
[[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout: not a number of seconds: $timeout_s"
if [ $prepare_only = 0 ] && [ $# -eq 0 ]; then
  die "no COMMAND (usage: $me [--timeout SECONDS] [--rw DIR]... -- COMMAND [ARG...])"
fi

# ---------------------------------------------------------------- host prerequisites
QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null 2>&1 ||
  die "$QEMU not found: install QEMU with 'apt-get install qemu-system-x86' (Debian/Ubuntu)"
for tool in apt-get apt-cache dpkg-deb gzip flock timeout mkfifo sha256sum; do
  command -v $tool >/dev/null 2>&1 || die "'$tool' not found (this script needs a Debian/Ubuntu host)"
done
# QEMU's 9p needs a directory it can read as the invoking user; we run as root in CI.

# ---------------------------------------------------------------- cache: kernel, modules, initramfs
cache=${LIVEMIG_KVM_VM_CACHE:-}
if [ -z "$cache" ]; then
  if mkdir -p /var/cache/livemig-kvm-vm 2>/dev/null && [ -w /var/cache/livemig-kvm-vm ]; then
    cache=/var/cache/livemig-kvm-vm
  else
    cache=/tmp/livemig-kvm-vm-cache
  fi
fi
mkdir -p "$cache" || die "cannot create cache directory $cache"

# Which Debian suite the kernel comes from: "host" = the host's own apt sources (bookworm: Linux 6.1);
# "backports" = <codename>-backports from the host's Debian mirror (bookworm-backports: Linux 6.12),
# fetched with a private apt state under the cache, so the host's apt configuration is not touched.
suite=${LIVEMIG_KVM_VM_SUITE:-backports}
apt_opts=()
case $suite in
  host) ;;
  backports|*-backports)
    if [ "$suite" = backports ]; then
      codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
      [ -n "$codename" ] || die "cannot tell the Debian codename from /etc/os-release; set LIVEMIG_KVM_VM_SUITE=host"
      suite=$codename-backports
    fi
    aptd=$cache/apt-$suite
    apt_opts=(-o "Dir::Etc::SourceList=$aptd/sources.list" -o Dir::Etc::SourceParts=/nonexistent
              -o "Dir::State::Lists=$aptd/lists" -o "Dir::Cache=$aptd/cache")
    ;;
  *) die "LIVEMIG_KVM_VM_SUITE must be 'host', 'backports' or a <codename>-backports suite, not '$suite'" ;;
esac
apt_update_private() { # private package list for $suite, from the mirror the host's apt already uses
  [ ${#apt_opts[@]} -gt 0 ] || return 0
  local mirror
  mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' 2>/dev/null |
           awk -v c="${suite%-backports}" '$2 == c { print $1; exit }')
  [ -n "$mirror" ] || die "no apt source for '${suite%-backports}' on this host to take the mirror from (run 'apt-get update', or set LIVEMIG_KVM_VM_SUITE=host)"
  mkdir -p "$aptd/lists/partial" "$aptd/cache/archives/partial"
  echo "deb ${mirror%/} $suite main" > "$aptd/sources.list"
  note "fetching the package list of $suite (once)"
  apt-get "${apt_opts[@]}" update >"$aptd/update.log" 2>&1 || { cat "$aptd/update.log" >&2; die "apt-get update for $suite failed"; }
}

kpkg=${LIVEMIG_KVM_VM_KERNEL_PKG:-}
if [ -z "$kpkg" ] && [ -s "$cache/default-kernel-pkg.$suite" ]; then kpkg=$(cat "$cache/default-kernel-pkg.$suite"); fi
if [ -z "$kpkg" ]; then
  if [ ${#apt_opts[@]} -gt 0 ] && ! ls "$aptd"/lists/*_Packages* >/dev/null 2>&1; then apt_update_private; fi
  kpkg=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
  [ -n "$kpkg" ] || die "cannot tell which kernel package linux-image-amd64 ($suite) depends on: run 'apt-get update' first (or set LIVEMIG_KVM_VM_KERNEL_PKG=linux-image-...-amd64)"
  echo "$kpkg" > "$cache/default-kernel-pkg.$suite"
fi

# The guest's /init. Kept here so that a change to it rebuilds the initramfs (its hash names the file).
read -r -d '' GUEST_INIT <<'INIT' || true
#!/bin/sh
# livemig kvm-vm guest init (busybox). Console = ttyS0, COMMAND stdout = ttyS1, stderr = ttyS2.
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
say() { echo "kvm-vm-init: $*"; }
fail() { say "FAILED: $*"; echo 125 > /ctl/rc 2>/dev/null; sync; poweroff -f; sleep 10; }
say "up after $(cut -d' ' -f1 /proc/uptime)s"
vendor=$(sed -n 's/^vendor_id[^:]*: //p' /proc/cpuinfo | head -n 1)
for m in $(cat /lib/mods/order); do
  case $m in kvm_amd|kvm_intel) continue ;; esac
  insmod /lib/mods/$m.ko || say "insmod $m failed"
done
case $vendor in
  AuthenticAMD|HygonGenuine) insmod /lib/mods/kvm_amd.ko || say "insmod kvm_amd failed" ;;
  *) insmod /lib/mods/kvm_intel.ko || say "insmod kvm_intel failed" ;;
esac
dmesg | grep -i -E 'kvm|svm|vmx' | sed 's/^/kvm-vm-init: dmesg: /'
[ -c /dev/kvm ] || say "WARNING: no /dev/kvm (cpu flags: $(grep -o -w -E 'svm|npt|vmx|ept' /proc/cpuinfo | sort -u | tr '\n' ' '))"
mkdir -p /ctl /lower /upper /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose ctl /ctl || fail "mount ctl share"
opts9p=$(sed -n 's/.*kvmvm\.9p=\([^ ]*\).*/\1/p' /proc/cmdline); opts9p=${opts9p:-msize=512000,cache=loose}
mount -t 9p -o trans=virtio,version=9p2000.L,$opts9p,ro hostroot /lower || fail "mount host root"
mount -t tmpfs -o mode=755 upper /upper && mkdir -p /upper/u /upper/w
if ! mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w overlay /newroot; then
  say "overlay failed; host root is read-only"
  mount --bind /lower /newroot
fi
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t tmpfs -o mode=755 tmpfs /newroot/run
mkdir -p /newroot/run/livemig-kvm-vm && mount --bind /ctl /newroot/run/livemig-kvm-vm
while read -r tag path; do
  [ -n "$tag" ] || continue
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none "$tag" "/newroot$path" || fail "mount --rw $path"
done < /ctl/rw-mounts
hostname kvm-vm 2>/dev/null
# Loopback up: migrations inside the VM (./livemig demo, the process tests) talk over 127.0.0.1.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null || say "cannot bring up lo"
stty -F /dev/ttyS1 raw -echo; stty -F /dev/ttyS2 raw -echo
say "starting command after $(cut -d' ' -f1 /proc/uptime)s"
chroot /newroot /bin/bash /run/livemig-kvm-vm/cmd.sh </dev/null >/dev/ttyS1 2>/dev/ttyS2
rc=$?
say "command exited with $rc after $(cut -d' ' -f1 /proc/uptime)s"
echo $rc > /ctl/rc
sync
umount /newroot/run/livemig-kvm-vm 2>/dev/null; umount /ctl 2>/dev/null
poweroff -f
INIT

roots="virtio_pci 9pnet_virtio 9p overlay kvm_amd kvm_intel"
ihash=$( { printf '%s\n' "$GUEST_INIT" "$roots" v1; } | sha256sum | cut -c1-12)
kdir=$cache/$kpkg
initrd=$kdir/initrd-$ihash.gz
vmlinuz=$kdir/vmlinuz

prepare() {
  local tmp; tmp=$(mktemp -d "$cache/.prep.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  if [ ! -s "$kdir/vmlinuz" ] || [ ! -d "$kdir/modules" ]; then
    note "downloading $kpkg (once; cached in $kdir)"
    (cd "$tmp" && apt-get "${apt_opts[@]}" download "$kpkg" >"$tmp/apt.log" 2>&1) || {
      cat "$tmp/apt.log" >&2
      die "'apt-get download $kpkg' failed: run 'apt-get update' first, or set LIVEMIG_KVM_VM_KERNEL_PKG to an available linux-image-*-amd64 package"
    }
    mkdir -p "$tmp/x" && dpkg-deb -x "$tmp"/*.deb "$tmp/x"
    local vm; vm=$(ls "$tmp"/x/boot/vmlinuz-* 2>/dev/null | head -n 1)
    [ -n "$vm" ] || die "$kpkg has no /boot/vmlinuz-*"
    local kver=${vm##*/vmlinuz-}
    rm -rf "$kdir" && mkdir -p "$kdir"
    cp "$vm" "$kdir/vmlinuz"
    mv "$tmp/x/lib/modules/$kver" "$kdir/modules"
    rm -rf "$tmp/x" "$tmp"/*.deb
  fi
  if [ ! -x "$cache/busybox" ]; then
    note "downloading busybox-static (once; cached in $cache)"
    (cd "$tmp" && apt-get download busybox-static >"$tmp/apt.log" 2>&1) || {
      cat "$tmp/apt.log" >&2; die "'apt-get download busybox-static' failed: run 'apt-get update' first"; }
    mkdir -p "$tmp/bb" && dpkg-deb -x "$tmp"/busybox-static*.deb "$tmp/bb"
    cp "$tmp/bb/bin/busybox" "$cache/busybox.new" && mv "$cache/busybox.new" "$cache/busybox"
  fi
  # Map module name -> file (names use '_', files may use '-'; .ko, .ko.xz or .ko.zst).
  declare -A modfile=()
  local f n
  while IFS= read -r f; do
    n=${f##*/}; n=${n%%.ko*}; n=${n//-/_}; modfile[$n]=$f
  done < <(find "$kdir/modules/kernel" -name '*.ko*')
  local r="$tmp/ird"
  mkdir -p "$r"/{bin,proc,sys,dev,tmp,lib/mods}
  cp "$cache/busybox" "$r/bin/busybox"
  for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
  declare -A seen=()
  local order=()
  add_mod() {
    local m=$1 d
    [ -n "${seen[$m]:-}" ] && return 0
    seen[$m]=1
    local file=${modfile[$m]:-}
    if [ -z "$file" ]; then
      grep -q -E "/${m//_/[-_]}\.ko" "$kdir/modules/modules.builtin" 2>/dev/null && return 0
      die "kernel module $m is neither in $kpkg nor built in"
    fi
    case $file in
      *.ko) cp "$file" "$r/lib/mods/$m.ko" ;;
      *.ko.xz) "$r/bin/busybox" xz -dc "$file" > "$r/lib/mods/$m.ko" ;;
      *.ko.zst) zstd -qdc "$file" > "$r/lib/mods/$m.ko" || die "zstd is needed to unpack $file" ;;
      *.ko.gz) gzip -dc "$file" > "$r/lib/mods/$m.ko" ;;
    esac
    for d in $(tr '\0' '\n' < "$r/lib/mods/$m.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do add_mod "$d"; done
    order+=("$m")
  }
  for n in $roots; do add_mod "$n"; done
  printf '%s\n' "${order[@]}" > "$r/lib/mods/order"
  printf '%s\n' "$GUEST_INIT" > "$r/init" && chmod 755 "$r/init"
  (cd "$r" && find . | "$r/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 > "$tmp/initrd.gz")
  mv "$tmp/initrd.gz" "$initrd"
  note "built $initrd (modules: ${order[*]})"
}

if [ ! -s "$vmlinuz" ] || [ ! -s "$initrd" ]; then
  exec 9>"$cache/.lock"
  flock 9
  if [ ! -s "$vmlinuz" ] || [ ! -s "$initrd" ]; then prepare; fi
  flock -u 9; exec 9>&-
fi
[ $prepare_only = 1 ] && { note "ready: $vmlinuz $initrd"; exit 0; }

# ---------------------------------------------------------------- run
run=$(mktemp -d /tmp/livemig-kvm-vm.XXXXXX)
pids=()
cleanup() {
  local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ $keep = 1 ]; then note "run directory kept: $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT
mkdir -p "$run/ctl"
{
  # The host environment, less what describes this shell or this terminal session.
  for n in $(compgen -e); do
    case $n in PWD|OLDPWD|SHLVL|_|BASH_*|SHELLOPTS|BASHOPTS|UID|EUID|PPID|TERM_SESSION_ID|SSH_*|DISPLAY|XAUTHORITY|DBUS_SESSION_BUS_ADDRESS|[!A-Za-z_]*) continue ;; esac
    printf 'export %s=%q\n' "$n" "${!n}"
  done
  echo "export LIVEMIG_KVM_VM=1"
} > "$run/ctl/env"
{
  echo '. /run/livemig-kvm-vm/env'
  printf 'cd -- %q || exit 125\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$run/ctl/cmd.sh"
virtfs=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
        -virtfs "local,path=$run/ctl,mount_tag=ctl,security_model=none")
: > "$run/ctl/rw-mounts"
i=0
for d in "${rw_dirs[@]}"; do
  virtfs+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=none,multidevs=remap")
  echo "rw$i $d" >> "$run/ctl/rw-mounts"; i=$((i + 1))
done

mkfifo "$run/out" "$run/err" "$run/console"
cat "$run/out" & pids+=($!)
cat "$run/err" >&2 & pids+=($!)
if [ $verbose = 1 ]; then tee "$run/console.log" < "$run/console" >&2 & else cat "$run/console" > "$run/console.log" & fi
pids+=($!)

start=$EPOCHREALTIME
set +e
timeout -k 10 "$timeout_s" "$QEMU" \
  -nodefaults -no-user-config -display none -no-reboot \
  -accel "${LIVEMIG_KVM_VM_ACCEL:-tcg,thread=multi}" -cpu "${LIVEMIG_KVM_VM_CPU:-max}" \
  -m "$mem" -smp "$smp" \
  -kernel "$vmlinuz" -initrd "$initrd" \
  -append "console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off rdinit=/init ${LIVEMIG_KVM_VM_9P:+kvmvm.9p=$LIVEMIG_KVM_VM_9P}" \
  -serial "file:$run/console" -serial "file:$run/out" -serial "file:$run/err" \
  "${virtfs[@]}" \
  >"$run/qemu.log" 2>&1
qrc=$?
set -e
wait "${pids[@]}" 2>/dev/null; pids=()
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

if [ $qrc = 124 ] || [ $qrc = 137 ]; then
  note "timed out after ${timeout_s}s; last console lines:"; tail -n 20 "$run/console.log" >&2
  exit 124
fi
if [ $qrc != 0 ]; then
  note "QEMU failed (exit $qrc):"; cat "$run/qemu.log" >&2; tail -n 30 "$run/console.log" >&2
  exit 125
fi
if [ ! -s "$run/ctl/rc" ]; then
  note "the VM stopped without running the command to its end; console:"; tail -n 40 "$run/console.log" >&2
  exit 125
fi
rc=$(cat "$run/ctl/rc")
grep -q 'WARNING: no /dev/kvm\|FAILED' "$run/console.log" && grep 'kvm-vm-init' "$run/console.log" >&2
[ $verbose = 1 ] && note "VM ran ${secs}s, command exit code $rc"
exit "$rc"
}
