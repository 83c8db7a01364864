package io.livemig.kvm;

import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The dirty-tracking contract (see {@link DirtyTracker}), run against every backend. A backend's test class
 * extends this and provides a machine factory, the backend, and the scripted guest of a machine; KVM backends
 * add {@code @BeforeAll} assumptions that skip with the host's reason when /dev/kvm is missing.
 *
 * <p>Cases: (a) a known set of pages written by the guest between two syncs is reported, every one, and nothing
 * else unless the backend declares a superset; (b) while the A-B guest runs, copying every reported page into a
 * destination image across many syncs, then pause + final sync + copy, leaves the image equal to source RAM
 * byte for byte; (c) across many syncs, every page whose content changed between a snapshot taken after one
 * sync and a snapshot taken before the next is reported by that next sync.
 */
@Timeout(120)
public abstract class DirtyTrackerContract {
    protected static final long PAGE = 4096;
    protected static final Duration WAIT = Duration.ofSeconds(20);

    /** The backend under test. */
    protected abstract DirtyTracker.Backend backend();

    /** A new, not yet started machine of the backend's kind on {@code memory} ({@code config.guest()} is "ab" or "scripted"). */
    protected abstract GuestMachine createMachine(GuestMemory memory, MachineConfig config);

    /** The scripted guest of a machine created with guest "scripted". */
    protected abstract ScriptedGuest scriptedGuest(GuestMachine machine);

    /** Guest RAM for each case (at least the A-B window). */
    protected long ramBytes() {
        return 128L << 20;
    }

    /** True where KVM documents a superset on the first sync (e.g. CLEAR with initially-all-set). */
    protected boolean firstSyncMayReportAllPages() {
        return false;
    }

    protected DirtyTracker.Config trackerConfig() {
        return DirtyTracker.Config.of(backend());
    }

    private final List<AutoCloseable> toClose = new ArrayList<>();

    private <T extends AutoCloseable> T closeLater(T c) {
        toClose.addFirst(c);
        return c;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) c.close();
        toClose.clear();
    }

    private GuestMemory memory() {
        return closeLater(GuestMemory.builder().anonymous("ram", ramBytes()).build());
    }

    private GuestMachine machine(GuestMemory memory, String guest) {
        SerialSink serial = closeLater(SerialSink.none());
        return closeLater(createMachine(memory, MachineConfig.of("java", guest, serial)));
    }

    /** Fresh bitmaps for one sync (one per block). */
    private static final class Bitmaps implements DirtyTracker.DirtyBitmaps {
        final java.util.Map<RamBlock, DirtyBitmap> map = new java.util.HashMap<>();

        @Override
        public DirtyBitmap of(RamBlock block) {
            return map.computeIfAbsent(block, b -> new DirtyBitmap(b.pages()));
        }
    }

    private static TreeSet<Long> pagesOf(DirtyBitmap bm) {
        TreeSet<Long> s = new TreeSet<>();
        for (long p = bm.nextSetBit(0); p >= 0; p = bm.nextSetBit(p + 1)) s.add(p);
        return s;
    }

    @Test
    void reportsTheBackendItWasAskedFor() {
        GuestMemory mem = memory();
        GuestMachine m = machine(mem, "scripted");
        try (DirtyTracker t = m.startDirtyTracking(trackerConfig())) {
            assertEquals(backend(), t.backend());
        }
    }

    @Test
    void aKnownSetOfPagesWrittenBetweenTwoSyncsIsReported() {
        GuestMemory mem = memory();
        RamBlock ram = mem.block("ram");
        GuestMachine m = machine(mem, "scripted");
        ScriptedGuest guest = scriptedGuest(m);
        TreeSet<Long> bookkeeping = new TreeSet<>();
        for (long p : guest.bookkeepingPages()) bookkeeping.add(p);
        m.start();
        try (DirtyTracker t = m.startDirtyTracking(trackerConfig())) {
            Bitmaps first = new Bitmaps();
            long n0 = t.sync(first);
            markSent(t, ram, first.of(ram));
            TreeSet<Long> firstPages = pagesOf(first.of(ram));
            firstPages.removeAll(bookkeeping);
            if (!firstSyncMayReportAllPages()) {
                assertEquals(List.of(), List.copyOf(firstPages), "first sync before any write reported pages");
            }
            assertEquals(first.of(ram).count(), n0);

            Random rnd = new Random(42);
            long pages = ram.pages();
            for (int round = 0; round < 8; round++) {
                TreeSet<Long> expected = new TreeSet<>();
                List<Long> gpas = new ArrayList<>();
                int n = round == 0 ? 1 : 1 + rnd.nextInt(500);
                for (int i = 0; i < n; i++) {
                    long page = round == 1 && i == 0 ? 0 : round == 1 && i == 1 ? pages - 1 : (long) rnd.nextInt((int) pages);
                    expected.add(page);
                    gpas.add(page * PAGE + rnd.nextInt((int) PAGE)); // anywhere in the page
                    if (i % 7 == 0) gpas.add(page * PAGE); // some pages twice
                }
                guest.incrementBytes(gpas.stream().mapToLong(Long::longValue).toArray(), WAIT);
                Bitmaps bm = new Bitmaps();
                long reported = t.sync(bm);
                markSent(t, ram, bm.of(ram));
                TreeSet<Long> got = pagesOf(bm.of(ram));
                assertEquals(bm.of(ram).count(), reported, "sync's return value vs pages in its bitmap");
                TreeSet<Long> missed = new TreeSet<>(expected);
                missed.removeAll(got);
                assertTrue(missed.isEmpty(), "round " + round + ": " + backend() + " missed pages " + head(missed)
                        + " of " + expected.size() + " written");
                TreeSet<Long> extra = new TreeSet<>(got);
                extra.removeAll(expected);
                extra.removeAll(bookkeeping);
                assertTrue(extra.isEmpty(), "round " + round + ": " + backend() + " reported pages nobody wrote: " + head(extra));
            }
            Bitmaps quiet = new Bitmaps();
            t.sync(quiet);
            markSent(t, ram, quiet.of(ram));
            TreeSet<Long> q = pagesOf(quiet.of(ram));
            q.removeAll(bookkeeping);
            assertTrue(q.isEmpty(), "a sync after no writes reported " + head(q));
        }
    }

    @Test
    void abGuestCopyOnReportDestinationEqualsSourceAfterFinalSync() throws Exception {
        GuestMemory mem = memory();
        RamBlock ram = mem.block("ram");
        MemorySegment src = ram.segment();
        GuestMachine m = machine(mem, "ab");
        m.start();
        try (Arena arena = Arena.ofConfined(); DirtyTracker t = m.startDirtyTracking(trackerConfig())) {
            MemorySegment dst = arena.allocate(src.byteSize(), PAGE);
            MemorySegment.copy(src, 0, dst, 0, src.byteSize()); // the "first pass": everything, after tracking started
            long total = 0, syncs = 0;
            for (int round = 0; round < 60; round++) {
                Thread.sleep(round % 3 == 0 ? 0 : 5);
                total += copyReported(t, ram, dst);
                syncs++;
            }
            assertTrue(total > 0, "the running guest dirtied nothing across " + syncs + " syncs");
            m.pause();
            copyReported(t, ram, dst);
            long diff = dst.mismatch(src);
            assertEquals(-1, diff, "destination differs from source at gpa 0x" + Long.toHexString(diff)
                    + " (page " + (diff / PAGE) + "): a write was missed by " + backend());
            AbConsistencyCheck.Result r = AbConsistencyCheck.check(dst, AbGuest.WINDOW_START_BYTES, AbGuest.DEFAULT_WINDOW_END_BYTES);
            assertTrue(r.consistent(), r.message());
        }
    }

    private static long copyReported(DirtyTracker t, RamBlock ram, MemorySegment dst) {
        Bitmaps bm = new Bitmaps();
        long n = t.sync(bm);
        DirtyBitmap b = bm.of(ram);
        for (long p = b.nextSetBit(0); p >= 0; p = b.nextSetBit(p + 1)) {
            t.clearBeforeSend(ram, p, 1); // harvest (and re-protect) first, then copy
            MemorySegment.copy(ram.segment(), p * PAGE, dst, p * PAGE, PAGE);
        }
        return n;
    }

    @Test
    void abGuestEveryChangedPageIsReportedByTheNextSync() throws Exception {
        GuestMemory mem = memory();
        RamBlock ram = mem.block("ram");
        MemorySegment src = ram.segment();
        GuestMachine m = machine(mem, "ab");
        m.start();
        try (Arena arena = Arena.ofConfined(); DirtyTracker t = m.startDirtyTracking(trackerConfig())) {
            MemorySegment after = arena.allocate(src.byteSize(), PAGE);
            MemorySegment before = arena.allocate(src.byteSize(), PAGE);
            t.sync(new Bitmaps());
            MemorySegment.copy(src, 0, after, 0, src.byteSize()); // snapshot after sync k
            long changedTotal = 0;
            for (int round = 0; round < 15; round++) {
                Thread.sleep(3);
                MemorySegment.copy(src, 0, before, 0, src.byteSize()); // snapshot before sync k+1
                Bitmaps bm = new Bitmaps();
                t.sync(bm);
                DirtyBitmap b = bm.of(ram);
                for (long p = 0; p < ram.pages(); p++) {
                    long off = p * PAGE;
                    if (MemorySegment.mismatch(after, off, off + PAGE, before, off, off + PAGE) >= 0) {
                        changedTotal++;
                        if (!b.get(p)) {
                            fail("round " + round + ": page " + p + " (gpa 0x" + Long.toHexString(off)
                                    + ") changed between two syncs but " + backend() + " did not report it");
                        }
                    }
                }
                MemorySegment.copy(src, 0, after, 0, src.byteSize());
            }
            assertTrue(changedTotal > 0, "the guest changed no page: the check proved nothing");
        }
    }

    private static String head(TreeSet<Long> s) {
        return s.stream().limit(10).toList() + (s.size() > 10 ? " ... (" + s.size() + ")" : "");
    }

    /**
     * What a sender does with the pages a sync reported: {@link DirtyTracker#clearBeforeSend} before sending
     * them (CLEAR re-protects there, as KVM's manual-protect mode requires; the other backends ignore it).
     * Contiguous runs are cleared in one call.
     */
    static void markSent(DirtyTracker t, RamBlock ram, io.livemig.memory.DirtyBitmap reported) {
        long p = reported.nextSetBit(0);
        while (p >= 0) {
            long end = p + 1;
            while (end < reported.pages() && reported.get(end)) end++;
            t.clearBeforeSend(ram, p, end - p);
            p = end < reported.pages() ? reported.nextSetBit(end) : -1;
        }
    }
}
