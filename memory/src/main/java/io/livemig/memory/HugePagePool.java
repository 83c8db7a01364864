package io.livemig.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The host's persistent huge page pools as sysfs shows them
 * ({@code /sys/kernel/mm/hugepages/hugepages-<kB>kB/}). Used to check, before anything is mapped, that a
 * configuration's huge pages are reserved, and to say which command reserves them when they are not.
 */
final class HugePagePool {
    private static final Path SYSFS = Path.of("/sys/kernel/mm/hugepages");
    private static final Path MEMINFO = Path.of("/proc/meminfo");

    private HugePagePool() {
    }

    /** The huge page sizes this kernel offers, in bytes, ascending. */
    static List<Long> supportedSizes() {
        try (Stream<Path> dirs = Files.list(SYSFS)) {
            return dirs.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("hugepages-") && n.endsWith("kB"))
                    .map(n -> Long.parseLong(n.substring("hugepages-".length(), n.length() - 2)) * 1024)
                    .sorted()
                    .toList();
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    /** Whether this kernel has a pool of {@code pageSizeBytes} pages. */
    static boolean supported(long pageSizeBytes) {
        return Files.isDirectory(dir(pageSizeBytes));
    }

    /**
     * Pages a new mapping can get: free minus those already reserved by other mappings, plus what the
     * overcommit setting still allows.
     */
    static long available(long pageSizeBytes) {
        long free = read(pageSizeBytes, "free_hugepages");
        long resv = read(pageSizeBytes, "resv_hugepages");
        long over = read(pageSizeBytes, "nr_overcommit_hugepages");
        long surplus = read(pageSizeBytes, "surplus_hugepages");
        return Math.max(0, free - resv) + Math.max(0, over - surplus);
    }

    /** {@code free_hugepages}: pages not faulted in by anyone (includes pages reserved but untouched). */
    static long freePages(long pageSizeBytes) {
        return read(pageSizeBytes, "free_hugepages");
    }

    /** {@code nr_hugepages} of that size: the persistent pool, free or in use. */
    static long total(long pageSizeBytes) {
        return read(pageSizeBytes, "nr_hugepages");
    }

    /**
     * Throws {@link HugePagesUnavailableException} unless {@code pagesNeeded} pages of
     * {@code pageSizeBytes} are available now.
     *
     * @param forWhat which blocks need them, for the message (e.g. {@code "RAM blocks [ram]"})
     */
    static void requireAvailable(long pageSizeBytes, long pagesNeeded, String forWhat) {
        long available = available(pageSizeBytes);
        if (available >= pagesNeeded) return;
        throw unavailable(pageSizeBytes, pagesNeeded, available, forWhat, null);
    }

    /** The exception for a shortfall found at mmap time (ENOMEM) or by {@link #requireAvailable}. */
    static HugePagesUnavailableException unavailable(long pageSizeBytes, long pagesNeeded, long available,
                                                     String forWhat, String detail) {
        long target = total(pageSizeBytes) + (pagesNeeded - Math.min(available, pagesNeeded));
        String command = reserveCommand(pageSizeBytes, target);
        String msg = forWhat + " need " + pagesNeeded + " huge pages of " + Sizes.human(pageSizeBytes) + " ("
                + Sizes.human(pagesNeeded * pageSizeBytes) + ") but only " + available + " are free"
                + " (nr_hugepages=" + total(pageSizeBytes) + "). Reserve them as root: " + command
                + (pageSizeBytes >= 1L << 30 ? " (or boot with hugepagesz=1G hugepages=" + target + ")" : "")
                + (detail == null ? "" : "; " + detail);
        return new HugePagesUnavailableException(msg, pageSizeBytes, pagesNeeded, available, command);
    }

    static String reserveCommand(long pageSizeBytes, long totalPages) {
        return pageSizeBytes == defaultSize()
                ? "sysctl vm.nr_hugepages=" + totalPages
                : "echo " + totalPages + " > " + dir(pageSizeBytes).resolve("nr_hugepages");
    }

    /** The default huge page size ({@code Hugepagesize} in /proc/meminfo), or 2 MiB if unknown. */
    static long defaultSize() {
        try {
            for (String line : Files.readAllLines(MEMINFO)) {
                if (line.startsWith("Hugepagesize:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return 2L << 20;
    }

    static Path dir(long pageSizeBytes) {
        return SYSFS.resolve("hugepages-" + (pageSizeBytes / 1024) + "kB");
    }

    private static long read(long pageSizeBytes, String file) {
        try {
            return Long.parseLong(Files.readString(dir(pageSizeBytes).resolve(file)).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** For messages: the supported sizes, e.g. {@code 2 MiB, 1 GiB}. */
    static String supportedText() {
        List<Long> sizes = supportedSizes();
        return sizes.isEmpty() ? "none" : String.join(", ", sizes.stream().map(Sizes::human).toList());
    }
}
