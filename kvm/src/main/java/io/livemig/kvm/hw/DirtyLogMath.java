package io.livemig.kvm.hw;

/**
 * The arithmetic of KVM's bitmap dirty log, kept apart from the ioctls so it is unit-tested without /dev/kvm:
 * bitmap sizes, KVM_CLEAR_DIRTY_LOG's alignment rule, and clear chunks (QEMU's {@code clear_bmap}: the log
 * is re-protected one chunk at a time, when the first page of the chunk is about to be sent).
 */
public final class DirtyLogMath {
    public static final long PAGE_BYTES = 4096;
    /** KVM_CLEAR_DIRTY_LOG works on whole 64-bit words of the bitmap. */
    public static final long CLEAR_ALIGN_PAGES = 64;
    /** Smallest clear chunk: one bitmap word of pages (256 KiB). */
    public static final long MIN_CLEAR_CHUNK_BYTES = CLEAR_ALIGN_PAGES * PAGE_BYTES;

    private DirtyLogMath() {
    }

    /** Bytes of a KVM dirty bitmap for {@code pages}: whole u64 words (KVM rounds up to 64 bits). */
    public static long bitmapBytes(long pages) {
        return ((pages + 63) >>> 6) * 8;
    }

    /**
     * KVM's rule for KVM_CLEAR_DIRTY_LOG: first_page a multiple of 64; num_pages a multiple of 64 unless the
     * range ends exactly at the end of the slot; the range inside the slot; num_pages fits u32.
     */
    public static void validateClearRange(int slotId, long slotPages, long firstPage, long numPages) {
        if (firstPage < 0 || firstPage % CLEAR_ALIGN_PAGES != 0) {
            throw new IllegalArgumentException("slot " + slotId + ": first_page=" + firstPage + ", expected a multiple of 64");
        }
        if (numPages <= 0 || numPages > 0xFFFF_FFFFL || firstPage + numPages > slotPages) {
            throw new IllegalArgumentException("slot " + slotId + ": num_pages=" + numPages + " at first_page=" + firstPage
                    + ", expected 1.." + (slotPages - firstPage) + " (slot has " + slotPages + " pages)");
        }
        if (numPages % CLEAR_ALIGN_PAGES != 0 && firstPage + numPages != slotPages) {
            throw new IllegalArgumentException("slot " + slotId + ": num_pages=" + numPages
                    + ", expected a multiple of 64 unless the range ends at the slot end (" + slotPages + ")");
        }
    }

    /** A clear chunk size must be a power of two and at least 64 pages (256 KiB). */
    public static void validateClearChunkBytes(long clearChunkBytes) {
        if (clearChunkBytes < MIN_CLEAR_CHUNK_BYTES || Long.bitCount(clearChunkBytes) != 1) {
            throw new IllegalArgumentException("clearChunkBytes=" + clearChunkBytes
                    + ", expected a power of two >= " + MIN_CLEAR_CHUNK_BYTES + " (64 pages)");
        }
    }

    /** Pages per clear chunk. */
    public static long chunkPages(long clearChunkBytes) {
        validateClearChunkBytes(clearChunkBytes);
        return clearChunkBytes / PAGE_BYTES;
    }

    /** Number of clear chunks of a slot of {@code slotPages}. */
    public static long chunkCount(long slotPages, long chunkPages) {
        return (slotPages + chunkPages - 1) / chunkPages;
    }

    /** Pages of chunk {@code chunk} (the last one may be shorter: it ends at the slot end, which KVM allows). */
    public static long chunkLength(long slotPages, long chunkPages, long chunk) {
        long first = chunk * chunkPages;
        return Math.min(chunkPages, slotPages - first);
    }

    /**
     * The chunks of a slot touched by the slot-relative page range [firstPage, firstPage + pageCount), as
     * {@code {firstChunk, lastChunkInclusive}}, or null when the range misses the slot.
     */
    public static long[] chunksTouched(long slotPages, long chunkPages, long firstPage, long pageCount) {
        long lo = Math.max(0, firstPage);
        long hi = Math.min(slotPages, firstPage + pageCount);
        if (hi <= lo) return null;
        return new long[] {lo / chunkPages, (hi - 1) / chunkPages};
    }
}
