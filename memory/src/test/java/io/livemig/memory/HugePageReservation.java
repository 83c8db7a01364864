package io.livemig.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Test helper: reserves default-size (2 MiB) huge pages for a test by raising vm.nr_hugepages, and puts
 * the previous value back on close. Tests that cannot reserve skip with the reason from {@link #reserve}.
 */
final class HugePageReservation implements AutoCloseable {
    static final long HUGE_2MB = 2L << 20;
    private static final Path NR = Path.of("/proc/sys/vm/nr_hugepages");

    private final long previous;

    private HugePageReservation(long previous) {
        this.previous = previous;
    }

    /** A reservation of {@code pages} more 2 MiB pages, or the reason there cannot be one (second). */
    static Result reserve(long pages) {
        if (HugePagePool.defaultSize() != HUGE_2MB) {
            return new Result(null, "default huge page size is " + HugePagePool.defaultSize() + ", tests expect 2 MiB");
        }
        long prev;
        try {
            prev = Long.parseLong(Files.readString(NR).trim());
            Files.writeString(NR, Long.toString(prev + pages));
        } catch (IOException | RuntimeException e) {
            return new Result(null, "cannot raise vm.nr_hugepages by " + pages + " (not root?): " + e);
        }
        HugePageReservation r = new HugePageReservation(prev);
        long available = HugePagePool.available(HUGE_2MB);
        if (available < pages) {
            r.close();
            return new Result(null, "raised vm.nr_hugepages by " + pages + " but only " + available
                    + " 2 MiB pages became available (memory too fragmented?)");
        }
        return new Result(r, null);
    }

    record Result(HugePageReservation reservation, String skipReason) {
        Optional<HugePageReservation> get() {
            return Optional.ofNullable(reservation);
        }
    }

    @Override
    public void close() {
        try {
            Files.writeString(NR, Long.toString(previous));
        } catch (IOException e) {
            throw new IllegalStateException("could not restore vm.nr_hugepages=" + previous, e);
        }
    }

    /** Mounts a hugetlbfs (2 MiB pages) on {@code dir}; null on success, else why not. */
    static String mountHugetlbfs(Path dir) {
        return run("mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "none", dir.toString());
    }

    static String umount(Path dir) {
        return run("umount", dir.toString());
    }

    private static String run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return String.join(" ", cmd) + " timed out";
            }
            String out = new String(p.getInputStream().readAllBytes()).trim();
            return p.exitValue() == 0 ? null : String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + out;
        } catch (IOException e) {
            return String.join(" ", cmd) + " failed: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return String.join(" ", cmd) + " interrupted";
        }
    }
}
