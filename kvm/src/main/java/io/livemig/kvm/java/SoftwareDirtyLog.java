package io.livemig.kvm.java;

import io.livemig.memory.DirtyBitmap;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The per-machine bitmap the Java vCPUs mark as they write (one bit per 4 KiB page of the RAM block) and the
 * migration thread harvests.
 *
 * <p>Memory ordering: {@link #mark} is a volatile {@code getAndBitwiseOr} issued after the guest store
 * (release: the store is visible to whoever observes the bit); {@link #harvestInto} reads each word with
 * a volatile get-and-set to 0 (acquire) before the caller copies the pages. See {@link GuestAccess}.
 */
final class SoftwareDirtyLog {
    static final int PAGE_SHIFT = 12;
    private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] words;
    private final long pages;

    SoftwareDirtyLog(long pages) {
        this.pages = pages;
        this.words = new long[(int) ((pages + 63) >>> 6)];
    }

    long pages() {
        return pages;
    }

    /** Sets the page's bit; called by vCPU threads after their store. */
    void mark(long page) {
        long bit = 1L << page; // shift uses the low 6 bits
        int i = (int) (page >>> 6);
        // Skipping the RMW when the bit looks set would need a full fence between the store and that read
        // (store-load order), which costs as much as the RMW itself; so always do the RMW.
        WORDS.getAndBitwiseOr(words, i, bit);
    }

    /** Moves every set bit into {@code into} (which must cover the same pages) and returns how many. */
    long harvestInto(DirtyBitmap into) {
        long reported = 0;
        for (int i = 0; i < words.length; i++) {
            if ((long) WORDS.getVolatile(words, i) == 0) continue; // a bit set after this read waits for the next sync
            long w = (long) WORDS.getAndSet(words, i, 0L);
            long base = (long) i << 6;
            while (w != 0) {
                into.set(base + Long.numberOfTrailingZeros(w));
                w &= w - 1;
                reported++;
            }
        }
        return reported;
    }
}
