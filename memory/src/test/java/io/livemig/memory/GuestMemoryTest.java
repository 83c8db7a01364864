package io.livemig.memory;

import io.livemig.sys.LibC;
import io.livemig.sys.abi.MmanH;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every backend maps, writes, reads back and unmaps; bad configurations fail with clear messages. */
class GuestMemoryTest {
    private static final long MIB = 1L << 20;
    private static final long HUGE_2MB = 2 * MIB;

    /** Writes a pattern at the first, a middle and the last page; reads it back; returns the block. */
    private static void writeAndReadBack(RamBlock b) {
        MemorySegment s = b.segment();
        assertEquals(b.sizeBytes(), s.byteSize());
        long[] offsets = {0, b.sizeBytes() / 2 + 8, b.sizeBytes() - 8};
        for (long off : offsets) s.set(ValueLayout.JAVA_LONG_UNALIGNED, off, 0x1122334455667788L ^ off);
        for (long off : offsets) assertEquals(0x1122334455667788L ^ off, s.get(ValueLayout.JAVA_LONG_UNALIGNED, off));
        assertTrue(ZeroPages.isZero(s, RamBlock.TARGET_PAGE_SIZE, RamBlock.TARGET_PAGE_SIZE), "untouched page reads zero");
    }

    /** Closing unmaps: the address range is gone from /proc/self/smaps and the segment refuses access. */
    private static void assertClosedAndUnmapped(RamBlock b, long address) throws IOException {
        assertTrue(b.isClosed());
        assertFalse(ProcMaps.isMapped(address), "still mapped after close: " + ProcMaps.smapsOf(address));
        assertThrows(IllegalStateException.class, b::segment);
    }

    @Test
    void anonymousMapsWritesReadsAndUnmapsExactlyOnce() throws IOException {
        GuestMemory mem = GuestMemory.builder().anonymous("ram", 16 * MIB).anonymous("vga", 4 * MIB).build();
        RamBlock ram = mem.block("ram");
        MemorySegment escaped = ram.segment();
        long address = escaped.address();
        assertEquals(List.of("ram", "vga"), mem.blocks().stream().map(RamBlock::name).toList());
        assertEquals(20 * MIB, mem.totalBytes());
        assertEquals(Backing.ANONYMOUS, ram.backing());
        assertEquals(-1, ram.fd());
        assertEquals(4096, ram.pageSizeBytes());
        assertEquals(16 * MIB / 4096, ram.pages());
        writeAndReadBack(ram);
        writeAndReadBack(mem.block("vga"));
        Map<String, String> smaps = ProcMaps.smapsOf(escaped);
        assertNotNull(smaps);
        assertTrue(smaps.get("VmFlags").contains("nr"), "MAP_NORESERVE shows as VmFlags nr: " + smaps.get("VmFlags"));

        mem.close();
        mem.close(); // exactly once: the second close does nothing
        assertClosedAndUnmapped(ram, address);
        assertTrue(mem.block("vga").isClosed());
        // a segment obtained before close is dead too: no access to unmapped memory
        assertThrows(IllegalStateException.class, () -> escaped.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void anonymousWithTransparentHugePagesIsAdvised() throws IOException {
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 8 * MIB, true).build()) {
            RamBlock ram = mem.block("ram");
            assertEquals(0, ram.segment().address() % (2 * MIB), "THP needs a 2 MiB-aligned start, as QEMU's RAM has");
            writeAndReadBack(ram);
            String flags = ProcMaps.smapsOf(ram.segment()).get("VmFlags");
            assertTrue(flags.contains("hg"), "MADV_HUGEPAGE shows as VmFlags hg: " + flags);
        }
    }

    @Test
    void memfdIsSharedThroughItsFd() throws IOException {
        long address;
        int fd;
        RamBlock b;
        try (GuestMemory mem = GuestMemory.builder().memfd("ram", 8 * MIB).build()) {
            b = mem.block("ram");
            address = b.segment().address();
            fd = b.fd();
            assertEquals(Backing.MEMFD, b.backing());
            assertTrue(fd >= 0);
            assertTrue(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().contains("memfd:livemig:ram"));
            writeAndReadBack(b);
            // a second mapping of the fd (as another process would make) sees the same bytes
            try (Arena arena = Arena.ofShared()) {
                MemorySegment other = LibC.mmap(arena, 0, b.sizeBytes(), MmanH.PROT_READ | MmanH.PROT_WRITE,
                        MmanH.MAP_SHARED, fd, 0);
                assertEquals(0x1122334455667788L, other.get(ValueLayout.JAVA_LONG_UNALIGNED, 0));
                other.set(ValueLayout.JAVA_LONG_UNALIGNED, 4096, 42L);
                assertEquals(42L, b.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, 4096));
            }
        }
        assertClosedAndUnmapped(b, address);
        Path link = Path.of("/proc/self/fd/" + fd);
        assertFalse(Files.exists(link) && Files.readSymbolicLink(link).toString().contains("memfd:livemig:ram"),
                "memfd still open after close");
    }

    @Test
    void fileBackedBlockPersistsItsContents(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("guest.ram");
        long address;
        RamBlock b;
        try (GuestMemory mem = GuestMemory.builder().file("ram", 2 * MIB, file).build()) {
            b = mem.block("ram");
            address = b.segment().address();
            assertEquals(Backing.FILE, b.backing());
            assertEquals(file, b.path().orElseThrow());
            assertTrue(b.fd() >= 0);
            writeAndReadBack(b);
            b.segment().set(ValueLayout.JAVA_BYTE, 100, (byte) 0x5a);
        }
        assertClosedAndUnmapped(b, address);
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(2 * MIB, bytes.length);
        assertEquals(0x5a, bytes[100]);
        // reopening maps the same contents
        try (GuestMemory mem = GuestMemory.builder().file("ram", 2 * MIB, file).build()) {
            assertEquals(0x5a, mem.block("ram").segment().get(ValueLayout.JAVA_BYTE, 100));
        }
    }

    @Test
    void hugetlbAnonymous2MiBWhenPagesCanBeReserved() throws IOException {
        HugePageReservation.Result r = HugePageReservation.reserve(2);
        assumeTrue(r.reservation() != null, () -> "skipped: " + r.skipReason());
        try (HugePageReservation _ = r.reservation()) {
            long freeBefore = HugePagePool.available(HUGE_2MB);
            RamBlock b;
            long address;
            try (GuestMemory mem = GuestMemory.builder().hugetlb("ram", 4 * MIB, HUGE_2MB).build()) {
                b = mem.block("ram");
                address = b.segment().address();
                assertEquals(Backing.HUGETLB, b.backing());
                assertEquals(HUGE_2MB, b.pageSizeBytes());
                assertEquals(-1, b.fd());
                assertEquals(1024, b.pages());
                assertEquals(freeBefore - 2, HugePagePool.available(HUGE_2MB), "mmap reserved 2 pages");
                writeAndReadBack(b);
                assertEquals("2048 kB", ProcMaps.smapsOf(b.segment()).get("KernelPageSize"));
            }
            assertClosedAndUnmapped(b, address);
            assertEquals(freeBefore, HugePagePool.available(HUGE_2MB), "pages returned on close");
        }
    }

    @Test
    void hugetlbfsFileAndFileOnHugetlbfsWhenAMountAndPagesAreAvailable(@TempDir Path tmp) throws IOException {
        Path mount = Files.createDirectory(tmp.resolve("hugetlbfs"));
        String mountFailure = HugePageReservation.mountHugetlbfs(mount);
        assumeTrue(mountFailure == null, () -> "skipped: cannot mount hugetlbfs: " + mountFailure);
        try {
            HugePageReservation.Result r = HugePageReservation.reserve(3);
            assumeTrue(r.reservation() != null, () -> "skipped: " + r.skipReason());
            try (HugePageReservation _ = r.reservation();
                 GuestMemory mem = GuestMemory.builder()
                         .hugetlbfsFile("ram", 4 * MIB, mount)
                         .file("rom", 2 * MIB, mount.resolve("rom.img"))
                         .build()) {
                RamBlock ram = mem.block("ram");
                assertEquals(Backing.HUGETLB, ram.backing());
                assertEquals(HUGE_2MB, ram.pageSizeBytes());
                assertTrue(ram.fd() >= 0);
                assertTrue(ram.path().isEmpty());
                writeAndReadBack(ram);
                assertEquals("2048 kB", ProcMaps.smapsOf(ram.segment()).get("KernelPageSize"));
                try (var files = Files.list(mount)) {
                    assertEquals(List.of("rom.img"), files.map(p -> p.getFileName().toString()).toList(),
                            "the hugetlbfs temp file is unlinked once opened");
                }
                RamBlock rom = mem.block("rom");
                assertEquals(Backing.HUGETLB, rom.backing(), "a file on hugetlbfs is a huge page block");
                assertEquals(HUGE_2MB, rom.pageSizeBytes());
                writeAndReadBack(rom);
            }
        } finally {
            String umountFailure = HugePageReservation.umount(mount);
            if (umountFailure != null) throw new AssertionError(umountFailure);
        }
    }

    @Test
    void hugetlbfsDirectoryThatIsNotHugetlbfsIsRejected(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GuestMemory.builder().hugetlbfsFile("ram", 4 * MIB, dir).build());
        assertTrue(e.getMessage().contains("is not on a hugetlbfs mount"), e.getMessage());
        assertTrue(e.getMessage().contains("mount -t hugetlbfs"), e.getMessage());
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "the probe file was removed");
        } catch (IOException io) {
            throw new AssertionError(io);
        }
    }

    @Test
    void hugePagesNotReservedNamesTheSysctlAndThePageCount() {
        long available = HugePagePool.available(HUGE_2MB);
        long total = HugePagePool.total(HUGE_2MB);
        long pages = available + 3;
        HugePagesUnavailableException e = assertThrows(HugePagesUnavailableException.class,
                () -> GuestMemory.builder().anonymous("boot", 2 * MIB).hugetlb("ram", pages * HUGE_2MB, HUGE_2MB).build());
        String msg = e.getMessage();
        assertTrue(msg.contains("need " + pages + " huge pages of 2 MiB"), msg);
        assertTrue(msg.contains("only " + available + " are free"), msg);
        assertTrue(msg.contains("sysctl vm.nr_hugepages=" + (total + 3)), msg);
        assertTrue(msg.contains("[ram]"), msg);
        assertEquals(pages, e.pagesNeeded());
        assertEquals("sysctl vm.nr_hugepages=" + (total + 3), e.reserveCommand());
    }

    @Test
    void hugePagesOfSeveralBlocksAreCountedTogether() {
        long available = HugePagePool.available(HUGE_2MB);
        // each block alone would fit in (available + 1) pages; together they do not
        long each = available / 2 + 1;
        HugePagesUnavailableException e = assertThrows(HugePagesUnavailableException.class,
                () -> GuestMemory.builder().hugetlb("a", each * HUGE_2MB, HUGE_2MB).hugetlb("b", (each + 1) * HUGE_2MB, HUGE_2MB)
                        .build());
        assertEquals(2 * each + 1, e.pagesNeeded());
        assertTrue(e.getMessage().contains("[a, b]"), e.getMessage());
    }

    @Test
    void unsupportedHugePageSizeNamesTheSizesThereAre() {
        assumeTrue(!HugePagePool.supported(1L << 30), "skipped: this host has a 1 GiB pool; nothing to reject");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GuestMemory.builder().hugetlb("ram", 1L << 30, 1L << 30).build());
        assertTrue(e.getMessage().contains("no 1 GiB huge page pool"), e.getMessage());
    }

    @Test
    void badSizesAndNamesAreRejectedBeforeAnythingIsMapped() {
        GuestMemory.Builder b = GuestMemory.builder();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.anonymous("ram", 5000));
        assertEquals("RAM block 'ram': sizeBytes=5000 is not a multiple of the page size 4096 (4 KiB);"
                + " nearest valid sizes are 4096 and 8192", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.memfd("ram", 0));
        assertEquals("RAM block 'ram': sizeBytes=0, expected > 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.anonymous("ram", -4096));
        assertTrue(e.getMessage().contains("sizeBytes=-4096, expected > 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.hugetlb("ram", 3 * MIB, HUGE_2MB));
        assertTrue(e.getMessage().contains("not a multiple of the page size 2097152 (2 MiB)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.hugetlb("ram", 4 * MIB, 4096));
        assertTrue(e.getMessage().contains("pageSizeBytes=4096, expected 2097152 (2 MiB) or 1073741824 (1 GiB)"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.anonymous("", 4096));
        assertTrue(e.getMessage().contains("name is empty"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.anonymous("x".repeat(256), 4096));
        assertTrue(e.getMessage().contains("is 256 bytes, expected 1..255"), e.getMessage());

        b.anonymous("ram", 4096);
        e = assertThrows(IllegalArgumentException.class, () -> b.memfd("ram", 8192));
        assertEquals("duplicate RAM block name 'ram'; declared so far: [ram]", e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> GuestMemory.builder().build());
        assertTrue(e.getMessage().contains("no RAM blocks"), e.getMessage());
    }

    @Test
    void unknownBlockNameListsTheKnownOnes() {
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 4096).memfd("vga", 8192).build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> mem.block("rom"));
            assertEquals("no RAM block named 'rom'; blocks are [ram, vga]", e.getMessage());
            assertTrue(mem.hasBlock("vga"));
        }
    }

    @Test
    void aBlockFailingToMapUnmapsTheOnesBeforeItAndClosesTheirFds() throws IOException {
        // /dev/null opens read-write but cannot be extended: ftruncate fails in the map phase, after
        // block "leakcheck-a" was mapped
        RuntimeException e = assertThrows(RuntimeException.class, () -> GuestMemory.builder()
                .memfd("leakcheck-a", 4 * MIB).file("b", 4 * MIB, Path.of("/dev/null")).build());
        assertTrue(e.getMessage().contains("ftruncate"), e.getMessage());
        assertFalse(Files.readString(Path.of("/proc/self/maps")).contains("memfd:livemig:leakcheck-a"),
                "block mapped before the failure is still mapped");
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    assertFalse(Files.readSymbolicLink(fd).toString().contains("livemig:leakcheck-a"), "fd leaked: " + fd);
                } catch (IOException gone) {
                    // closed while listing
                }
            }
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 30, unit = java.util.concurrent.TimeUnit.SECONDS)
    void closeWhileANativeCallHoldsTheSegmentFailsAndCanBeRetried() throws Exception {
        GuestMemory mem = GuestMemory.builder().anonymous("ram", 1 * MIB).build();
        RamBlock ram = mem.block("ram");
        int[] pipe = LibC.pipe2(MmanH.O_CLOEXEC);
        try {
            java.util.concurrent.CountDownLatch reading = new java.util.concurrent.CountDownLatch(1);
            int[] tid = new int[1];
            Thread reader = Thread.ofPlatform().name("reader").start(() -> {
                tid[0] = LibC.gettid();
                reading.countDown();
                LibC.read(pipe[0], ram.segment().asSlice(4096, 4096), 4096); // blocks holding the segment
            });
            reading.await();
            awaitBlockedInRead(tid[0]);
            IllegalStateException inUse = assertThrows(IllegalStateException.class, ram::close);
            assertTrue(inUse.getMessage().contains("still in use by a native call"), inUse.getMessage());
            assertFalse(ram.isClosed());
            try (Arena a = Arena.ofConfined()) {
                LibC.write(pipe[1], a.allocateFrom("x"), 1);
            }
            reader.join(10_000);
            assertFalse(reader.isAlive());
            assertEquals((byte) 'x', ram.segment().get(ValueLayout.JAVA_BYTE, 4096));
            long address = ram.segment().address();
            mem.close();
            assertClosedAndUnmapped(ram, address);
        } finally {
            LibC.close(pipe[0]);
            LibC.close(pipe[1]);
        }
    }

    /**
     * Waits (bounded) until thread {@code tid} is blocked in read(2): /proc/self/task/TID/syscall starts
     * with the syscall number while the thread is inside a system call.
     */
    private static void awaitBlockedInRead(int tid) throws Exception {
        Path syscall = Path.of("/proc/self/task/" + tid + "/syscall");
        String readNr = Integer.toString(io.livemig.sys.abi.SyscallNr.SYS_read);
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            String s = Files.readString(syscall).trim();
            if (s.split(" ")[0].equals(readNr)) {
                Thread.sleep(20); // it stays there until the pipe gets data
                return;
            }
            if (System.nanoTime() > deadline) throw new AssertionError("thread " + tid + " never blocked in read: " + s);
            Thread.sleep(5);
        }
    }
}
