package io.livemig.memory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DirtyBitmapTest {
    private static final ValueLayout.OfLong LE_U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void setGetTestAndClearCountAndBounds() {
        DirtyBitmap b = new DirtyBitmap(130);
        assertEquals(130, b.pages());
        assertEquals(3, b.wordCount());
        assertEquals(0, b.count());
        assertEquals(-1, b.nextSetBit(0));
        b.set(0);
        b.set(63);
        b.set(64);
        b.set(129);
        b.set(64); // idempotent
        assertEquals(4, b.count());
        assertTrue(b.get(63));
        assertFalse(b.get(62));
        assertEquals(0, b.nextSetBit(0));
        assertEquals(63, b.nextSetBit(1));
        assertEquals(64, b.nextSetBit(64));
        assertEquals(129, b.nextSetBit(65));
        assertEquals(-1, b.nextSetBit(130));
        assertTrue(b.testAndClear(63));
        assertFalse(b.testAndClear(63));
        assertFalse(b.get(63));
        assertEquals(3, b.count());
        assertEquals(1L, b.harvestWord(1));
        assertEquals(0L, b.harvestWord(1));
        assertEquals(2, b.count());

        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> b.set(130));
        assertTrue(e.getMessage().contains("page=130, expected 0..129"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> b.get(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> b.harvestWord(3));
        assertThrows(IllegalArgumentException.class, () -> new DirtyBitmap(-1));
    }

    @Test
    void setAllSetsExactlyPagesBitsAndClearAllClearsThem() {
        for (long pages : new long[] {0, 1, 63, 64, 65, 1000}) {
            DirtyBitmap b = new DirtyBitmap(pages);
            b.setAll();
            assertEquals(pages, b.count(), "pages=" + pages);
            long last = -1;
            for (long p = b.nextSetBit(0); p >= 0; p = b.nextSetBit(p + 1)) last = p;
            assertEquals(pages - 1, last);
            b.clearAll();
            assertEquals(0, b.count());
        }
    }

    @Test
    void orKernelBitmapAtUnalignedOffsetMatchesBitByBitReference() {
        Random rnd = new Random(42);
        for (int trial = 0; trial < 200; trial++) {
            long pages = 1 + rnd.nextInt(1000);
            DirtyBitmap b = new DirtyBitmap(pages);
            BitSet expected = new BitSet();
            // pre-existing bits must survive the OR
            for (int i = 0; i < 20; i++) {
                int p = rnd.nextInt((int) pages);
                b.set(p);
                expected.set(p);
            }
            long first = rnd.nextInt((int) pages);
            long count = rnd.nextInt((int) (pages - first) + 1);
            if (trial == 0) {
                first = 37; // the case the issue names: not word aligned, spanning words
                count = Math.min(pages - first, 200);
            }
            long words = DirtyBitmap.wordsFor(count);
            try (Arena arena = Arena.ofConfined()) {
                // +3 bytes and an odd base: the kernel buffer need not be 8-byte aligned for us
                MemorySegment buf = arena.allocate(words * 8 + 3, 8).asSlice(3, words * 8);
                for (long w = 0; w < words; w++) {
                    long x = rnd.nextLong(); // includes garbage beyond count in the last word
                    buf.set(LE_U64, w * 8, x);
                    for (int bit = 0; bit < 64; bit++) {
                        long i = w * 64 + bit;
                        if (i < count && (x >>> bit & 1) != 0) expected.set((int) (first + i));
                    }
                }
                b.orKernelBitmap(buf, first, count);
            }
            BitSet actual = new BitSet();
            for (long p = b.nextSetBit(0); p >= 0; p = b.nextSetBit(p + 1)) actual.set((int) p);
            assertEquals(expected, actual, "trial " + trial + " pages=" + pages + " first=" + first + " count=" + count);
            assertEquals(expected.cardinality(), b.count());
        }
    }

    @Test
    void orKernelBitmapReadsLittleEndianBytes() {
        DirtyBitmap b = new DirtyBitmap(200);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(16);
            buf.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x01); // bit 0
            buf.set(ValueLayout.JAVA_BYTE, 1, (byte) 0x80); // bit 15
            buf.set(ValueLayout.JAVA_BYTE, 15, (byte) 0x80); // bit 127
            b.orKernelBitmap(buf, 70, 128);
        }
        assertEquals(3, b.count());
        assertTrue(b.get(70));
        assertTrue(b.get(85));
        assertTrue(b.get(197));
    }

    @Test
    void orKernelBitmapRejectsRangesOutsideTheBitmapOrBuffer() {
        DirtyBitmap b = new DirtyBitmap(100);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(16);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> b.orKernelBitmap(buf, 50, 51));
            assertTrue(e.getMessage().contains("firstPage=50, pageCount=51"), e.getMessage());
            e = assertThrows(IndexOutOfBoundsException.class, () -> b.orKernelBitmap(buf.asSlice(0, 8), 0, 65));
            assertTrue(e.getMessage().contains("expected >= 16"), e.getMessage());
        }
    }

    /** Setters interleave bits of the same words (page % setters == id): every bit must survive. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void concurrentSettersOfDisjointBitsInSharedWordsLoseNone() throws Exception {
        final int pages = 1 << 18;
        final int setters = 4;
        for (int round = 0; round < 5; round++) {
            DirtyBitmap b = new DirtyBitmap(pages);
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < setters; t++) {
                final int id = t;
                threads.add(Thread.ofPlatform().name("setter-" + t).start(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int p = id; p < pages; p += setters) b.set(p);
                }));
            }
            start.countDown();
            for (Thread th : threads) th.join(TimeUnit.SECONDS.toMillis(50));
            assertEquals(pages, b.count(), "round " + round + ": bits lost by concurrent set");
        }
    }

    /**
     * Three setters race with a harvester that alternates testAndClear and harvestWord. Lower half: page
     * {@code p} is set exactly once, by setter {@code p % 3} (disjoint bits of shared words), except
     * pages {@code p % 7 == 6}, which no one sets. Upper half: setters 0 and 1 both set every page once
     * (overlapping). After a final harvest: lower pages were reported exactly once (a set swallowed by a
     * concurrent clear shows as 0, an invented bit as 2), unset pages never, upper pages once or twice.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void concurrentSettersAndHarvesterLoseNothingAndInventNothing() throws Exception {
        final int pages = 1 << 17;
        final int half = pages / 2;
        final int setters = 3;
        for (int round = 0; round < 3; round++) {
            DirtyBitmap b = new DirtyBitmap(pages);
            AtomicIntegerArray reported = new AtomicIntegerArray(pages);
            CountDownLatch start = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicInteger passes = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < setters; t++) {
                final int id = t;
                List<Integer> mine = new ArrayList<>();
                for (int p = 0; p < half; p++) if (p % setters == id && p % 7 != 6) mine.add(p);
                if (id < 2) for (int p = half; p < pages; p++) mine.add(p);
                Collections.shuffle(mine, new Random(round * 10 + id));
                int[] order = mine.stream().mapToInt(Integer::intValue).toArray();
                threads.add(Thread.ofPlatform().name("setter-" + t).unstarted(() -> {
                    try {
                        start.await();
                        for (int i = 0; i < order.length; i++) {
                            b.set(order[i]);
                            // halfway, let the harvester make a full pass over our first half, so the race surely overlaps
                            if (i == order.length / 2) awaitPasses(passes, passes.get() + 2);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            Thread harvester = Thread.ofPlatform().name("harvester").unstarted(() -> {
                try {
                    start.await();
                    boolean byWord = false;
                    while (threads.stream().anyMatch(Thread::isAlive)) {
                        harvestOnce(b, reported, byWord);
                        byWord = !byWord;
                        passes.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            threads.forEach(Thread::start);
            harvester.start();
            start.countDown();
            for (Thread th : threads) th.join(TimeUnit.SECONDS.toMillis(50));
            harvester.join(TimeUnit.SECONDS.toMillis(50));
            assertFalse(harvester.isAlive(), "harvester did not finish");
            if (failure.get() != null) throw new AssertionError(failure.get());
            long harvestedWhileRunning = 0;
            for (int p = 0; p < pages; p++) harvestedWhileRunning += reported.get(p);
            harvestOnce(b, reported, true); // what is left after the setters stopped
            assertEquals(0, b.count());
            for (int p = 0; p < pages; p++) {
                int n = reported.get(p);
                if (p < half && p % 7 == 6) {
                    if (n != 0) throw new AssertionError("round " + round + " page " + p + " was never set but reported " + n + "x");
                } else if (p < half) {
                    if (n != 1) throw new AssertionError("round " + round + " page " + p + " was set once but reported " + n + "x");
                } else if (n < 1 || n > 2) {
                    throw new AssertionError("round " + round + " page " + p + " was set twice but reported " + n + "x");
                }
            }
            assertTrue(harvestedWhileRunning > 0, "the harvester never overlapped the setters");
        }
    }

    private static void awaitPasses(AtomicInteger passes, int n) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (passes.get() < n) {
            if (System.nanoTime() > deadline) throw new AssertionError("harvester made no progress in 20 s");
            Thread.onSpinWait();
        }
    }

    private static void harvestOnce(DirtyBitmap b, AtomicIntegerArray reported, boolean byWord) {
        if (byWord) {
            for (long w = 0; w < b.wordCount(); w++) {
                for (long bits = b.harvestWord(w); bits != 0; bits &= bits - 1) {
                    reported.incrementAndGet((int) ((w << 6) + Long.numberOfTrailingZeros(bits)));
                }
            }
        } else {
            for (long p = b.nextSetBit(0); p >= 0; p = p + 1 < b.pages() ? b.nextSetBit(p + 1) : -1) {
                if (b.testAndClear(p)) reported.incrementAndGet((int) p);
            }
        }
    }
}
