package io.livemig.sys;

import io.livemig.sys.abi.MmanH;
import io.livemig.sys.abi.SyscallNr;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What this host can do, each answer with the reason when it cannot: tests skip with that reason, the
 * CLI prints it once when it falls back. Probes are cheap and side-effect free (an fd opened and closed).
 */
public final class HostCapabilities {
    private static final int O_RDWR = MmanH.O_RDWR;
    private static final int O_CLOEXEC = MmanH.O_CLOEXEC;
    private static final Path KVM = Path.of("/dev/kvm");
    private static final Path UFFD_DEV = Path.of("/dev/userfaultfd");

    private HostCapabilities() {
    }

    /** Empty when /dev/kvm opens read-write; otherwise why not (missing node, permissions, no module). */
    public static Optional<String> kvmUnavailable() {
        if (!Files.exists(KVM)) {
            return Optional.of("/dev/kvm does not exist (no KVM on this host: kernel module not loaded, or this host"
                    + " is itself a guest without nested virtualisation)");
        }
        int fd = LibC.openOrErrno(KVM.toString(), O_RDWR | O_CLOEXEC, 0);
        if (fd < 0) return Optional.of("open(/dev/kvm) failed: " + Errno.describe(-fd));
        LibC.close(fd);
        return Optional.empty();
    }

    /** Empty when the userfaultfd syscall (or /dev/userfaultfd) is usable by this process. */
    public static Optional<String> userfaultfdUnavailable() {
        long fd = LibC.syscallOrErrno(SYS_USERFAULTFD, O_CLOEXEC, 0, 0, 0, 0, 0);
        if (fd >= 0) {
            LibC.close((int) fd);
            return Optional.empty();
        }
        if (Files.exists(UFFD_DEV)) {
            int dfd = LibC.openOrErrno(UFFD_DEV.toString(), O_RDWR | O_CLOEXEC, 0);
            if (dfd >= 0) {
                LibC.close(dfd);
                return Optional.empty();
            }
        }
        return Optional.of("userfaultfd(2) failed: " + Errno.describe((int) -fd)
                + " (set sysctl vm.unprivileged_userfaultfd=1, or run as root)");
    }

    /** Free persistent huge pages of {@code pageSizeBytes} (2 MiB or 1 GiB) now reserved on this host. */
    public static long freeHugePages(long pageSizeBytes) {
        Path p = Path.of("/sys/kernel/mm/hugepages/hugepages-" + (pageSizeBytes / 1024) + "kB/free_hugepages");
        try {
            return Long.parseLong(Files.readString(p).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Empty when at least {@code count} free huge pages of that size are reserved; else what to run. */
    public static Optional<String> hugePagesUnavailable(long pageSizeBytes, long count) {
        long free = freeHugePages(pageSizeBytes);
        if (free >= count) return Optional.empty();
        String knob = pageSizeBytes == 2L << 20
                ? "sysctl vm.nr_hugepages=" + count
                : "echo " + count + " > /sys/kernel/mm/hugepages/hugepages-" + (pageSizeBytes / 1024) + "kB/nr_hugepages";
        return Optional.of(count + " free huge pages of " + (pageSizeBytes >> 10) + " KiB needed, " + free
                + " reserved and free (as root: " + knob + ")");
    }

    /** The QEMU system emulator on PATH (or LIVEMIG_QEMU), if installed. */
    public static Optional<Path> qemu() {
        String override = System.getenv("LIVEMIG_QEMU");
        if (override != null && Files.isExecutable(Path.of(override))) return Optional.of(Path.of(override));
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, "qemu-system-x86_64");
            if (Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** x86-64 {@code __NR_userfaultfd}. */
    private static final long SYS_USERFAULTFD = SyscallNr.SYS_userfaultfd;
}
