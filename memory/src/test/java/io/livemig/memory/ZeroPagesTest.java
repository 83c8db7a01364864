package io.livemig.memory;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ZeroPagesTest {
    private static final int PAGE = RamBlock.TARGET_PAGE_SIZE;

    @Test
    void zeroPageAndPagesNonZeroOnlyInFirstOrLastByte() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * PAGE, PAGE);
            assertTrue(ZeroPages.isZero(seg, 0, PAGE));
            assertTrue(ZeroPages.isZeroMismatch(seg, 0, PAGE));
            assertTrue(ZeroPages.isZero(seg));

            seg.set(ValueLayout.JAVA_BYTE, PAGE + PAGE - 1, (byte) 1); // page 1: last byte only
            seg.set(ValueLayout.JAVA_BYTE, 2L * PAGE, (byte) 0x80); // page 2: first byte only
            assertTrue(ZeroPages.isZero(seg, 0, PAGE));
            assertFalse(ZeroPages.isZero(seg, PAGE, PAGE));
            assertFalse(ZeroPages.isZero(seg, 2L * PAGE, PAGE));
            assertTrue(ZeroPages.isZero(seg, 3L * PAGE, PAGE));
            assertFalse(ZeroPages.isZeroMismatch(seg, PAGE, PAGE));
            assertFalse(ZeroPages.isZeroMismatch(seg, 2L * PAGE, PAGE));
            assertFalse(ZeroPages.isZero(seg));
            // the byte just outside a range does not count
            assertTrue(ZeroPages.isZero(seg, PAGE, PAGE - 1));
            assertTrue(ZeroPages.isZero(seg, 2L * PAGE + 1, PAGE - 1));
        }
    }

    @Test
    void everySingleNonZeroByteIsFoundAtEveryPositionAndLength() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(3L * PAGE);
            for (int len : new int[] {1, 7, 8, 9, 63, 64, 65, 200, PAGE, 2 * PAGE}) {
                for (int off : new int[] {0, 1, 5, 8, 13}) {
                    for (int at = 0; at < len; at += Math.max(1, len / 37)) {
                        seg.set(ValueLayout.JAVA_BYTE, off + at, (byte) 4);
                        String where = "len=" + len + " off=" + off + " at=" + at;
                        assertFalse(ZeroPages.isZero(seg, off, len), where);
                        assertFalse(ZeroPages.isZeroMismatch(seg, off, len), where);
                        seg.set(ValueLayout.JAVA_BYTE, off + at, (byte) 0);
                    }
                    assertTrue(ZeroPages.isZero(seg, off, len));
                    assertTrue(ZeroPages.isZeroMismatch(seg, off, len));
                }
            }
            assertTrue(ZeroPages.isZero(seg, 0, 0));
        }
    }

    @Test
    void randomPagesAgreeWithAByteByByteReference() {
        Random rnd = new Random(7);
        try (Arena arena = Arena.ofConfined()) {
            int pages = 256;
            MemorySegment seg = arena.allocate((long) pages * PAGE, PAGE);
            int zeros = 0;
            for (int p = 0; p < pages; p++) {
                int kind = rnd.nextInt(4); // 0 zero, 1 random, 2 one random byte, 3 sparse
                long base = (long) p * PAGE;
                if (kind == 1) {
                    for (int i = 0; i < PAGE; i++) seg.set(ValueLayout.JAVA_BYTE, base + i, (byte) rnd.nextInt());
                } else if (kind == 2) {
                    seg.set(ValueLayout.JAVA_BYTE, base + rnd.nextInt(PAGE), (byte) (1 + rnd.nextInt(255)));
                } else if (kind == 3 && rnd.nextBoolean()) {
                    seg.set(ValueLayout.JAVA_BYTE, base + PAGE - 1 - rnd.nextInt(64), (byte) 1);
                }
            }
            for (int p = 0; p < pages; p++) {
                long base = (long) p * PAGE;
                boolean expected = true;
                for (int i = 0; i < PAGE && expected; i++) expected = seg.get(ValueLayout.JAVA_BYTE, base + i) == 0;
                if (expected) zeros++;
                assertEquals(expected, ZeroPages.isZero(seg, base, PAGE), "page " + p);
                assertEquals(expected, ZeroPages.isZeroMismatch(seg, base, PAGE), "page " + p);
            }
            assertTrue(zeros > 10 && zeros < pages - 10, "zeros=" + zeros + ": the sample should mix both kinds");
        }
    }

    @Test
    void largeRangesSpanningManyComparandChunks() {
        try (Arena arena = Arena.ofConfined()) {
            long size = 1L << 20;
            MemorySegment seg = arena.allocate(size, PAGE);
            assertTrue(ZeroPages.isZero(seg));
            seg.set(ValueLayout.JAVA_BYTE, size - 1, (byte) 1);
            assertFalse(ZeroPages.isZero(seg));
            assertTrue(ZeroPages.isZero(seg, 0, size - 1));
        }
    }

    @Test
    void outOfRangeIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(PAGE);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> ZeroPages.isZero(seg, 1, PAGE));
            assertTrue(e.getMessage().contains("offset=1, length=4096"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> ZeroPages.isZero(seg, -1, 1));
        }
    }
}
