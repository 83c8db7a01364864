package io.livemig.memory;

import io.livemig.sys.SyscallException;
import io.livemig.sys.abi.ErrnoH;
import io.livemig.sys.abi.MmanH;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PrefaultTest {
    private static final long MIB = 1L << 20;

    private static void writeMarkers(MemorySegment s) {
        for (long off = 0; off < s.byteSize(); off += 1 * MIB + 4096) s.set(ValueLayout.JAVA_LONG, off, off + 1);
    }

    private static void checkMarkers(MemorySegment s) {
        for (long off = 0; off < s.byteSize(); off += 1 * MIB + 4096) {
            assertEquals(off + 1, s.get(ValueLayout.JAVA_LONG, off), "data changed at " + off);
        }
    }

    @Test
    void populateWriteMakesEveryPageResidentAndKeepsData() throws IOException {
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 64 * MIB).build()) {
            RamBlock b = mem.block("ram");
            writeMarkers(b.segment());
            long before = ProcMaps.residentBytes(b.segment());
            assertEquals(64 * 4096, before, "only the marker pages are resident before prefaulting");
            Prefault.populateWrite(b.segment(), 2);
            assertEquals(64 * MIB, ProcMaps.residentBytes(b.segment()), "every page resident after MADV_POPULATE_WRITE");
            checkMarkers(b.segment());
        }
    }

    @Test
    void populateWriteOfABlockReportsTheMethodAndWorksForMemfd() throws IOException {
        try (GuestMemory mem = GuestMemory.builder().memfd("ram", 32 * MIB).build()) {
            RamBlock b = mem.block("ram");
            writeMarkers(b.segment());
            assertEquals(Prefault.Method.MADV_POPULATE_WRITE, Prefault.populateWrite(b, 3));
            assertEquals(32 * MIB, ProcMaps.residentBytes(b.segment()));
            checkMarkers(b.segment());
        }
    }

    @Test
    void fallsBackToTouchingWhenTheKernelLacksPopulateWrite() throws IOException {
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 32 * MIB).build()) {
            RamBlock b = mem.block("ram");
            writeMarkers(b.segment());
            AtomicInteger calls = new AtomicInteger();
            Prefault.Method m = Prefault.populateWrite(b.segment(), 4096, 2, (range, advice) -> {
                assertEquals(MmanH.MADV_POPULATE_WRITE, advice);
                calls.incrementAndGet();
                return -ErrnoH.EINVAL; // as a kernel before 5.14 answers
            });
            assertEquals(Prefault.Method.TOUCH, m);
            assertTrue(calls.get() >= 1 && calls.get() <= 2, "each worker asks at most once, then touches: " + calls);
            assertEquals(32 * MIB, ProcMaps.residentBytes(b.segment()), "every page resident after touching");
            checkMarkers(b.segment());
        }
    }

    @Test
    void otherMadviseErrorsThrowNamingTheAdviceAndRange() {
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 8 * MIB).build()) {
            SyscallException e = assertThrows(SyscallException.class, () -> Prefault.populateWrite(
                    mem.block("ram").segment(), 4096, 2, (range, advice) -> -ErrnoH.ENOMEM));
            assertEquals(ErrnoH.ENOMEM, e.errno());
            assertTrue(e.getMessage().startsWith("madvise(MADV_POPULATE_WRITE, offset="), e.getMessage());
            assertTrue(e.getMessage().contains("ENOMEM"), e.getMessage());
        }
    }

    @Test
    void badArgumentsAreRejected() {
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 8 * MIB).build()) {
            MemorySegment s = mem.block("ram").segment();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Prefault.populateWrite(s.asSlice(100, 4096), 1));
            assertTrue(e.getMessage().contains("expected address and size multiples of pageSizeBytes=4096"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Prefault.populateWrite(s, 0));
            Prefault.populateWrite(s.asSlice(0, 0), 2); // empty: nothing to do
        }
    }

    @Test
    void populatesHugetlbBlocksInWholeHugePages() {
        HugePageReservation.Result r = HugePageReservation.reserve(2);
        assumeTrue(r.reservation() != null, () -> "skipped: " + r.skipReason());
        try (HugePageReservation _ = r.reservation();
             GuestMemory mem = GuestMemory.builder().hugetlb("ram", 4 * MIB, 2 * MIB).build()) {
            long freeBefore = HugePagePool.freePages(2 * MIB);
            assertEquals(Prefault.Method.MADV_POPULATE_WRITE, Prefault.populateWrite(mem.block("ram"), 2));
            assertEquals(freeBefore - 2, HugePagePool.freePages(2 * MIB), "both huge pages faulted in");
        }
    }
}
