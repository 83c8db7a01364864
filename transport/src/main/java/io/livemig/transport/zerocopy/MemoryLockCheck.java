package io.livemig.transport.zerocopy;

import io.livemig.sys.Errno;
import io.livemig.sys.LibC;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * zero-copy-send needs guest RAM that can be locked: MSG_ZEROCOPY pins the pages it sends, and the kernel
 * charges pinned pages to RLIMIT_MEMLOCK. Checked up front (as QEMU asks for {@code -overcommit
 * mem-lock=on}) so a migration fails at setup with a message naming the limit, not half-way with ENOBUFS.
 */
public final class MemoryLockCheck {
    private MemoryLockCheck() {
    }

    /**
     * Locks {@code ram} (mlock) and returns a handle that unlocks it.
     *
     * @param what names the memory in the error, e.g. {@code "RAM block 'ram'"}
     * @throws IOException naming RLIMIT_MEMLOCK and the current limit when the kernel refuses
     */
    public static Locked lock(MemorySegment ram, String what) throws IOException {
        int r = LibC.mlockOrErrno(ram);
        if (r < 0) throw new IOException(lockFailureMessage(what, ram.byteSize(), -r));
        return new Locked(ram);
    }

    /** The text of a failed lock (separate so tests can check it without hitting the limit). */
    static String lockFailureMessage(String what, long bytes, int errno) {
        return "zero-copy-send needs lockable guest RAM, but mlock of " + what + " (" + bytes + " bytes) failed: "
                + Errno.describe(errno) + "; raise RLIMIT_MEMLOCK (" + currentLimitText()
                + "), e.g. ulimit -l unlimited, or disable zero-copy-send";
    }

    /** {@code current limit: soft S, hard H (Max locked memory in /proc/self/limits)}. */
    static String currentLimitText() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max locked memory")) {
                    String[] f = line.substring("Max locked memory".length()).trim().split("\\s+");
                    if (f.length >= 2) {
                        return "current limit: soft " + f[0] + ", hard " + f[1]
                                + (f.length >= 3 ? " " + f[2] : "") + " per /proc/self/limits";
                    }
                }
            }
        } catch (IOException e) {
            return "current limit unknown: " + e.getMessage();
        }
        return "current limit unknown: no 'Max locked memory' line in /proc/self/limits";
    }

    /** Locked memory; {@link #close()} unlocks it once. */
    public static final class Locked implements AutoCloseable {
        private MemorySegment ram;

        private Locked(MemorySegment ram) {
            this.ram = ram;
        }

        @Override
        public synchronized void close() {
            if (ram != null) {
                LibC.munlock(ram);
                ram = null;
            }
        }
    }
}
