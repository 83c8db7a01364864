package io.livemig.kvm.hw;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** KVM dirty-bitmap arithmetic and KVM_CLEAR_DIRTY_LOG's alignment rules (no /dev/kvm needed). */
class DirtyLogMathTest {
    @Test
    void bitmapsAreWholeU64Words() {
        assertEquals(0, DirtyLogMath.bitmapBytes(0));
        assertEquals(8, DirtyLogMath.bitmapBytes(1));
        assertEquals(8, DirtyLogMath.bitmapBytes(64));
        assertEquals(16, DirtyLogMath.bitmapBytes(65));
        assertEquals(32768 / 8, DirtyLogMath.bitmapBytes(32768));
    }

    @Test
    void clearRangesFollowKvmsRule() {
        DirtyLogMath.validateClearRange(0, 1000, 0, 64);
        DirtyLogMath.validateClearRange(0, 1000, 960, 40); // ends at the slot end: any length
        assertThrows(IllegalArgumentException.class, () -> DirtyLogMath.validateClearRange(0, 1000, 32, 64));
        assertThrows(IllegalArgumentException.class, () -> DirtyLogMath.validateClearRange(0, 1000, 64, 65));
        assertThrows(IllegalArgumentException.class, () -> DirtyLogMath.validateClearRange(0, 1000, 960, 64));
        assertThrows(IllegalArgumentException.class, () -> DirtyLogMath.validateClearRange(0, 1000, 0, 0));
    }

    @Test
    void chunkSizesMustBePowersOfTwoOfAtLeast64Pages() {
        assertEquals(64, DirtyLogMath.chunkPages(256 << 10));
        assertEquals(256, DirtyLogMath.chunkPages(1 << 20));
        var e = assertThrows(IllegalArgumentException.class, () -> DirtyLogMath.chunkPages(128 << 10));
        assertTrue(e.getMessage().contains("clearChunkBytes=131072"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DirtyLogMath.chunkPages(3 << 20));
    }

    @Test
    void chunksTouchedByAPageRange() {
        assertArrayEquals(new long[] {0, 0}, DirtyLogMath.chunksTouched(1000, 64, 0, 1));
        assertArrayEquals(new long[] {0, 1}, DirtyLogMath.chunksTouched(1000, 64, 63, 2));
        assertArrayEquals(new long[] {15, 15}, DirtyLogMath.chunksTouched(1000, 64, 999, 100)); // clipped to the slot
        assertNull(DirtyLogMath.chunksTouched(1000, 64, 1000, 5));
        assertNull(DirtyLogMath.chunksTouched(1000, 64, -10, 5));
        assertArrayEquals(new long[] {0, 0}, DirtyLogMath.chunksTouched(1000, 64, -10, 11));
        assertEquals(16, DirtyLogMath.chunkCount(1000, 64));
        assertEquals(40, DirtyLogMath.chunkLength(1000, 64, 15));
        assertEquals(64, DirtyLogMath.chunkLength(1000, 64, 14));
    }
}
