package io.livemig.engine.stream;

import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * The guest-RAM pattern of the interop tests: {@link #PAGES} pages at {@link #GPA}; page i is, by
 * {@code i % 4}: all zero, zero but one non-zero byte, random, or filled with one non-zero byte.
 */
public final class TestPattern {
    public static final long GPA = 0x100000;
    public static final int PAGES = 256;
    public static final long RAM_BYTES = 64L << 20;
    public static final long SEED = 0x5EED_7A11L;

    private TestPattern() {
    }

    public static byte[] bytes() {
        byte[] b = new byte[PAGES * 4096];
        Random rnd = new Random(SEED);
        for (int i = 0; i < PAGES; i++) {
            int base = i * 4096;
            switch (i % 4) {
                case 0 -> { }
                case 1 -> b[base + (i * 37) % 4096] = (byte) (i | 1);
                case 2 -> {
                    byte[] page = new byte[4096];
                    rnd.nextBytes(page);
                    System.arraycopy(page, 0, b, base, 4096);
                }
                default -> java.util.Arrays.fill(b, base, base + 4096, (byte) (0x11 + i | 1));
            }
        }
        return b;
    }

    /** Number of pattern pages that are all zero. */
    public static int zeroPages() {
        return PAGES / 4;
    }

    /** The expected 64 MiB guest RAM: zero except the pattern at GPA. */
    public static void assertRam(MemorySegment ram, byte[] pattern) {
        MemorySegment expected = MemorySegment.ofArray(pattern);
        long mm = MemorySegment.mismatch(ram, GPA, GPA + pattern.length, expected, 0, pattern.length);
        if (mm >= 0) throw new AssertionError("pattern mismatch at gpa 0x" + Long.toHexString(GPA + mm));
        if (!io.livemig.memory.ZeroPages.isZero(ram, 0, GPA)) throw new AssertionError("non-zero below the pattern");
        long end = GPA + pattern.length;
        if (!io.livemig.memory.ZeroPages.isZero(ram, end, ram.byteSize() - end)) throw new AssertionError("non-zero above the pattern");
    }
}
