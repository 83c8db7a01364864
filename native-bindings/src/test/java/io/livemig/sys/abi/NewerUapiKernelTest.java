package io.livemig.sys.abi;

import io.livemig.sys.HostCapabilities;
import io.livemig.sys.LibC;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.livemig.sys.abi.NewerUapi.PAGEMAP_SCAN;
import static io.livemig.sys.abi.NewerUapi.PAGE_IS_GUARD;
import static io.livemig.sys.abi.NewerUapi.PAGE_IS_PRESENT;
import static io.livemig.sys.abi.NewerUapi.PAGE_IS_WRITTEN;
import static io.livemig.sys.abi.NewerUapi.PM_SCAN_CHECK_WPASYNC;
import static io.livemig.sys.abi.NewerUapi.PM_SCAN_WP_MATCHING;
import static io.livemig.sys.abi.NewerUapi.UFFD_FEATURE_MOVE;
import static io.livemig.sys.abi.NewerUapi.UFFD_FEATURE_POISON;
import static io.livemig.sys.abi.NewerUapi.UFFD_FEATURE_WP_ASYNC;
import static io.livemig.sys.abi.NewerUapi.UFFD_FEATURE_WP_UNPOPULATED;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Proves the hand-written {@link NewerUapi} values against the running kernel: a wrong feature bit, ioctl
 * number or struct layout makes these calls fail with EINVAL/ENOTTY or return the wrong pages. Each test skips
 * with the reason when the kernel is older than the release that introduced what it checks.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NewerUapiKernelTest {
    private static final long PAGE = LibC.sysconf(MmanH._SC_PAGESIZE);
    private final List<MemorySegment> mappings = new ArrayList<>();
    private final List<Integer> fds = new ArrayList<>();
    private Arena arena;

    @BeforeEach
    void open() {
        arena = Arena.ofConfined();
    }

    @AfterEach
    void release() {
        for (int fd : fds) LibC.close(fd);
        for (MemorySegment m : mappings) LibC.munmap(m);
        arena.close();
    }

    // ---- userfaultfd -------------------------------------------------------------------------------

    @Test
    void uffdioApiOffersAndAcceptsTheNewerFeatures() {
        assumeKernel(6, 8, "UFFD_FEATURE_MOVE");
        long offered = uffdApi(userfaultfd(), 0);
        for (long f : new long[] {UFFD_FEATURE_WP_UNPOPULATED, UFFD_FEATURE_POISON, UFFD_FEATURE_WP_ASYNC,
                UFFD_FEATURE_MOVE, UserfaultfdH.UFFD_FEATURE_WP_HUGETLBFS_SHMEM}) {
            assertTrue((offered & f) != 0, "kernel does not offer feature 0x" + Long.toHexString(f)
                    + " (offered 0x" + Long.toHexString(offered) + ")");
        }
        long wanted = UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_POISON | UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_MOVE;
        long enabled = uffdApi(userfaultfd(), wanted);
        assertEquals(wanted, enabled & wanted);

        // The kernel rejects feature bits it does not know, so the acceptance above means something.
        MemorySegment api = apiRequest(1L << 62);
        assertEquals(-ErrnoH.EINVAL, LibC.ioctlOrErrno(userfaultfd(), UserfaultfdH.UFFDIO_API, api));
    }

    @Test
    void uffdioMoveMovesAPageIntoARegisteredRange() {
        assumeKernel(6, 8, "UFFDIO_MOVE");
        int uffd = userfaultfd();
        uffdApi(uffd, UFFD_FEATURE_MOVE);
        MemorySegment src = anonymous(1);
        MemorySegment dst = anonymous(1);
        for (long i = 0; i < PAGE; i++) src.set(JAVA_BYTE, i, (byte) (i * 7 + 3));
        long ioctls = register(uffd, dst, UserfaultfdH.UFFDIO_REGISTER_MODE_MISSING);
        assertTrue((ioctls & (1L << NewerUapi._UFFDIO_MOVE)) != 0, "range ioctls 0x" + Long.toHexString(ioctls)
                + " lack _UFFDIO_MOVE");

        MemorySegment move = arena.allocate(NewerUapi.uffdio_move.SIZE, 8);
        move.set(JAVA_LONG, NewerUapi.uffdio_move.dst, dst.address());
        move.set(JAVA_LONG, NewerUapi.uffdio_move.src, src.address());
        move.set(JAVA_LONG, NewerUapi.uffdio_move.len, PAGE);
        move.set(JAVA_LONG, NewerUapi.uffdio_move.mode, 0);
        LibC.ioctl(uffd, NewerUapi.UFFDIO_MOVE, move, "len=" + PAGE);
        assertEquals(PAGE, move.get(JAVA_LONG, NewerUapi.uffdio_move.move));
        for (long i = 0; i < PAGE; i++) {
            if (dst.get(JAVA_BYTE, i) != (byte) (i * 7 + 3)) fail("dst byte " + i + " was not moved");
        }
        assertEquals(0, src.get(JAVA_BYTE, 1), "the source page left its range (reads back as a fresh zero page)");
    }

    @Test
    void uffdioPoisonPoisonsARegisteredRange() {
        assumeKernel(6, 6, "UFFDIO_POISON");
        int uffd = userfaultfd();
        uffdApi(uffd, UFFD_FEATURE_POISON);
        MemorySegment dst = anonymous(2);
        long ioctls = register(uffd, dst, UserfaultfdH.UFFDIO_REGISTER_MODE_MISSING);
        assertTrue((ioctls & (1L << NewerUapi._UFFDIO_POISON)) != 0, "range ioctls 0x" + Long.toHexString(ioctls)
                + " lack _UFFDIO_POISON");
        MemorySegment poison = arena.allocate(NewerUapi.uffdio_poison.SIZE, 8);
        poison.set(JAVA_LONG, NewerUapi.uffdio_poison.range_start, dst.address());
        poison.set(JAVA_LONG, NewerUapi.uffdio_poison.range_len, PAGE);
        poison.set(JAVA_LONG, NewerUapi.uffdio_poison.mode, 0);
        LibC.ioctl(uffd, NewerUapi.UFFDIO_POISON, poison, "len=" + PAGE);
        assertEquals(PAGE, poison.get(JAVA_LONG, NewerUapi.uffdio_poison.updated));
        // (not touched afterwards: an access to the poisoned page raises SIGBUS)
    }

    // ---- PAGEMAP_SCAN ------------------------------------------------------------------------------

    @Test
    void pagemapScanReturnsTheTouchedPagesOfAMapping() {
        assumeKernel(6, 7, "PAGEMAP_SCAN");
        MemorySegment m = anonymous(8);
        for (int p : new int[] {0, 1, 5}) m.set(JAVA_BYTE, p * PAGE, (byte) 1);
        List<long[]> regions = scan(m, 0, PAGE_IS_PRESENT, PAGE_IS_PRESENT);
        assertEquals(List.of("[0,2) 0x8", "[5,6) 0x8"), describe(m, regions));
    }

    @Test
    void uffdWpAsyncAndPagemapScanTrackWrittenPages() throws Exception {
        assumeKernel(6, 7, "UFFD_FEATURE_WP_ASYNC with PAGEMAP_SCAN");
        int uffd = userfaultfd();
        uffdApi(uffd, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
        MemorySegment m = anonymous(8);
        register(uffd, m, UserfaultfdH.UFFDIO_REGISTER_MODE_WP);
        MemorySegment wp = arena.allocate(UserfaultfdH.uffdio_writeprotect.SIZE, 8);
        wp.set(JAVA_LONG, UserfaultfdH.uffdio_writeprotect.range_start, m.address());
        wp.set(JAVA_LONG, UserfaultfdH.uffdio_writeprotect.range_len, m.byteSize());
        wp.set(JAVA_LONG, UserfaultfdH.uffdio_writeprotect.mode, UserfaultfdH.UFFDIO_WRITEPROTECT_MODE_WP);
        LibC.ioctl(uffd, UserfaultfdH.UFFDIO_WRITEPROTECT, wp);

        long flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
        writeOffThread(m, 2, 6);
        assertEquals(List.of("[2,3) 0x2", "[6,7) 0x2"), describe(m, scan(m, flags, PAGE_IS_WRITTEN, PAGE_IS_WRITTEN)));
        assertEquals(List.of(), describe(m, scan(m, flags, PAGE_IS_WRITTEN, PAGE_IS_WRITTEN)),
                "PM_SCAN_WP_MATCHING re-protected the pages it reported");
        writeOffThread(m, 3);
        assertEquals(List.of("[3,4) 0x2"), describe(m, scan(m, flags, PAGE_IS_WRITTEN, PAGE_IS_WRITTEN)));
    }

    @Test
    void pagemapScanReportsAGuardRegion() {
        assumeKernel(6, 14, "PAGE_IS_GUARD");
        MemorySegment m = anonymous(4);
        assertEquals(0, LibC.madviseOrErrno(m.asSlice(PAGE, PAGE), NewerUapi.MADV_GUARD_INSTALL));
        assertEquals(List.of("[1,2) 0x100"), describe(m, scan(m, 0, PAGE_IS_GUARD, PAGE_IS_GUARD)));
    }

    // ---- memfd -------------------------------------------------------------------------------------

    @Test
    void memfdNoexecSealSetsFSealExec() {
        assumeKernel(6, 3, "MFD_NOEXEC_SEAL");
        int fd = LibC.memfdCreate("livemig-abi", MmanH.MFD_CLOEXEC | NewerUapi.MFD_NOEXEC_SEAL);
        fds.add(fd);
        int seals = LibC.fcntl(fd, MmanH.F_GET_SEALS, 0);
        assertTrue((seals & NewerUapi.F_SEAL_EXEC) != 0, "seals 0x" + Integer.toHexString(seals));
        int exec = LibC.memfdCreate("livemig-abi-exec", MmanH.MFD_CLOEXEC | NewerUapi.MFD_EXEC);
        fds.add(exec);
        assertEquals(0, LibC.fcntl(exec, MmanH.F_GET_SEALS, 0) & NewerUapi.F_SEAL_EXEC);
    }

    // ---- helpers -----------------------------------------------------------------------------------

    private int userfaultfd() {
        HostCapabilities.userfaultfdUnavailable().ifPresent(reason -> assumeTrue(false, reason));
        long fd = LibC.syscallOrErrno(SyscallNr.SYS_userfaultfd, MmanH.O_CLOEXEC | MmanH.O_NONBLOCK, 0, 0, 0, 0, 0);
        assertTrue(fd >= 0, "userfaultfd: " + io.livemig.sys.Errno.describe((int) -fd));
        fds.add((int) fd);
        return (int) fd;
    }

    private MemorySegment apiRequest(long features) {
        MemorySegment api = arena.allocate(UserfaultfdH.uffdio_api.SIZE, 8);
        api.set(JAVA_LONG, UserfaultfdH.uffdio_api.api, UserfaultfdH.UFFD_API);
        api.set(JAVA_LONG, UserfaultfdH.uffdio_api.features, features);
        return api;
    }

    /** UFFDIO_API handshake; returns the features the kernel reports (all it offers when asked for none). */
    private long uffdApi(int uffd, long features) {
        MemorySegment api = apiRequest(features);
        LibC.ioctl(uffd, UserfaultfdH.UFFDIO_API, api, "features=0x" + Long.toHexString(features));
        return api.get(JAVA_LONG, UserfaultfdH.uffdio_api.features);
    }

    /** UFFDIO_REGISTER of the whole mapping; returns the range ioctls bitmask. */
    private long register(int uffd, MemorySegment range, long mode) {
        MemorySegment reg = arena.allocate(UserfaultfdH.uffdio_register.SIZE, 8);
        reg.set(JAVA_LONG, UserfaultfdH.uffdio_register.range_start, range.address());
        reg.set(JAVA_LONG, UserfaultfdH.uffdio_register.range_len, range.byteSize());
        reg.set(JAVA_LONG, UserfaultfdH.uffdio_register.mode, mode);
        LibC.ioctl(uffd, UserfaultfdH.UFFDIO_REGISTER, reg, "mode=" + mode);
        return reg.get(JAVA_LONG, UserfaultfdH.uffdio_register.ioctls);
    }

    private MemorySegment anonymous(int pages) {
        MemorySegment m = LibC.mmap(0, pages * PAGE, MmanH.PROT_READ | MmanH.PROT_WRITE,
                MmanH.MAP_PRIVATE | MmanH.MAP_ANONYMOUS | MmanH.MAP_NORESERVE, -1, 0);
        mappings.add(m);
        LibC.madvise(m, MmanH.MADV_NOHUGEPAGE); // page-granular answers, whatever the THP setting
        return m;
    }

    /** PAGEMAP_SCAN over {@code m} on /proc/self/pagemap; returns {start, end, categories} per region. */
    private List<long[]> scan(MemorySegment m, long flags, long categoryMask, long returnMask) {
        int fd = LibC.open("/proc/self/pagemap", MmanH.O_RDONLY | MmanH.O_CLOEXEC, 0);
        try {
            int maxRegions = (int) (m.byteSize() / PAGE);
            MemorySegment vec = arena.allocate(NewerUapi.page_region.SIZE * maxRegions, 8);
            MemorySegment arg = arena.allocate(NewerUapi.pm_scan_arg.SIZE, 8);
            arg.set(JAVA_LONG, NewerUapi.pm_scan_arg.size, NewerUapi.pm_scan_arg.SIZE);
            arg.set(JAVA_LONG, NewerUapi.pm_scan_arg.flags, flags);
            arg.set(JAVA_LONG, NewerUapi.pm_scan_arg.start, m.address());
            arg.set(JAVA_LONG, NewerUapi.pm_scan_arg.end, m.address() + m.byteSize());
            arg.set(JAVA_LONG, NewerUapi.pm_scan_arg.vec, vec.address());
            arg.set(JAVA_LONG, NewerUapi.pm_scan_arg.vec_len, maxRegions);
            arg.set(JAVA_LONG, NewerUapi.pm_scan_arg.category_mask, categoryMask);
            arg.set(JAVA_LONG, NewerUapi.pm_scan_arg.return_mask, returnMask);
            int n = LibC.ioctl(fd, PAGEMAP_SCAN, arg, "flags=0x" + Long.toHexString(flags));
            assertEquals(m.address() + m.byteSize(), arg.get(JAVA_LONG, NewerUapi.pm_scan_arg.walk_end),
                    "walk_end: the scan covered the whole mapping");
            List<long[]> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                long base = i * NewerUapi.page_region.SIZE;
                out.add(new long[] {vec.get(JAVA_LONG, base + NewerUapi.page_region.start),
                        vec.get(JAVA_LONG, base + NewerUapi.page_region.end),
                        vec.get(JAVA_LONG, base + NewerUapi.page_region.categories)});
            }
            return out;
        } finally {
            LibC.close(fd);
        }
    }

    /** Regions as "[firstPage,endPage) 0xcategories" relative to the mapping. */
    private static List<String> describe(MemorySegment m, List<long[]> regions) {
        List<String> out = new ArrayList<>();
        for (long[] r : regions) {
            out.add("[" + (r[0] - m.address()) / PAGE + "," + (r[1] - m.address()) / PAGE + ") 0x"
                    + Long.toHexString(r[2]));
        }
        return out;
    }

    /**
     * Writes one byte to each page on another thread, bounded: if the kernel did not resolve the write-protect
     * faults itself (WP_ASYNC), the writer would wait for a fault handler forever; closing the uffd in
     * {@link #release} wakes it.
     */
    private static void writeOffThread(MemorySegment m, int... pages) throws InterruptedException {
        Thread writer = Thread.ofPlatform().daemon().name("uffd-wp-writer").start(() -> {
            for (int p : pages) m.set(JAVA_BYTE, p * PAGE + 17, (byte) 0x5a);
        });
        writer.join(10_000);
        if (writer.isAlive()) fail("a write to a uffd-wp page blocked: UFFD_FEATURE_WP_ASYNC is not in effect");
    }

    private static void assumeKernel(int major, int minor, String what) {
        String release;
        try {
            release = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (IOException e) {
            assumeTrue(false, "cannot read the kernel release: " + e);
            return;
        }
        Matcher v = Pattern.compile("^(\\d+)\\.(\\d+)").matcher(release);
        assumeTrue(v.find(), "unparsable kernel release " + release);
        int maj = Integer.parseInt(v.group(1));
        int min = Integer.parseInt(v.group(2));
        assumeTrue(maj > major || (maj == major && min >= minor),
                what + " needs Linux " + major + "." + minor + ", this kernel is " + release);
    }
}
