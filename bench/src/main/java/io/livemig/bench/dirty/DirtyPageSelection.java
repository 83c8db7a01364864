package io.livemig.bench.dirty;

import java.util.SplittableRandom;

/**
 * Which pages a dirty-sync benchmark dirties: exactly {@code dirtyPages(pages, percent)} distinct pages of
 * {@code [0, range)}, spread at random (fixed seed, so every backend and every run sees the same set), in
 * ascending order. The count is what the benchmarks check each sync against and what
 * {@code bench/dirty-sync.sh} divides by the time per sync to get pages per second.
 */
final class DirtyPageSelection {
    static final long PAGE_BYTES = 4096;
    static final long SEED = 1;

    private DirtyPageSelection() {
    }

    /** Pages dirtied per sync: {@code pages * percent / 100} (0 %, 1 %, 100 %). */
    static long dirtyPages(long pages, int percent) {
        if (percent < 0 || percent > 100) throw new IllegalArgumentException("dirtyPercent=" + percent + ", expected 0..100");
        return pages * percent / 100;
    }

    /**
     * {@code count} distinct pages out of {@code [0, range)}, ascending (Knuth's selection sampling: each page
     * is taken with probability still-needed / still-left, which yields exactly {@code count}).
     */
    static long[] choose(long range, long count) {
        if (count < 0 || count > range) throw new IllegalArgumentException("count=" + count + ", expected 0.." + range);
        if (count > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("count=" + count + " does not fit an array");
        long[] out = new long[(int) count];
        if (count == range) {
            for (int i = 0; i < out.length; i++) out[i] = i;
            return out;
        }
        SplittableRandom rnd = new SplittableRandom(SEED);
        int n = 0;
        for (long p = 0; p < range && n < count; p++) {
            if (rnd.nextLong(range - p) < count - n) out[n++] = p;
        }
        return out;
    }
}
