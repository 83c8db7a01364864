package io.livemig.engine.multifd;

import io.livemig.memory.RamBlock;

import java.lang.foreign.MemorySegment;

/**
 * One multifd packet's worth of pages, as a descriptor: the block and up to 128 page offsets. The pages
 * themselves stay in guest RAM; the sender thread reads them at write time (a page the guest dirties in
 * between is caught by the next dirty sync and sent again).
 *
 * <p>Ownership: the migration thread fills a batch, then hands it to one sender thread through a
 * bounded JCTools queue ({@code offer} is a release, {@code poll} an acquire, so the offsets written before
 * the hand-off are visible to the sender); after the hand-off the migration thread never touches it again.
 */
public final class PageBatch {
    private final RamBlock block;
    private final long[] offsets = new long[MultifdPacketDescriptor.PAGES_PER_PACKET];
    private int count;

    public PageBatch(RamBlock block) {
        this.block = block;
    }

    public RamBlock block() {
        return block;
    }

    public int count() {
        return count;
    }

    public boolean isFull() {
        return count == offsets.length;
    }

    /** Page offsets; the first {@link #count()} are valid. */
    long[] offsets() {
        return offsets;
    }

    /** Adds the page at byte {@code offset} of the block (page aligned, inside the block). */
    public void add(long offset) {
        if (count == offsets.length) throw new IllegalStateException("page batch is full (" + count + " pages)");
        if ((offset & (MultifdPacketDescriptor.PAGE_SIZE - 1)) != 0 || offset < 0
                || offset > block.sizeBytes() - MultifdPacketDescriptor.PAGE_SIZE) {
            throw new IllegalArgumentException("page offset 0x" + Long.toHexString(offset)
                    + " is not a page of block '" + block.name() + "' (size 0x" + Long.toHexString(block.sizeBytes()) + ")");
        }
        offsets[count++] = offset;
    }

    /**
     * Splits {@code offsets[0..count)} into runs of consecutive pages and writes each run's slice of
     * {@code blockSegment} to {@code runs}: a bulk pass becomes one 512 KiB slice instead of 128 pages, so
     * one writev/readv entry (or one read) moves the whole packet.
     *
     * @return the number of runs written
     */
    static int runs(MemorySegment blockSegment, long[] offsets, int count, MemorySegment[] runs) {
        int n = 0;
        int i = 0;
        final long page = MultifdPacketDescriptor.PAGE_SIZE;
        while (i < count) {
            long start = offsets[i];
            int j = i + 1;
            while (j < count && offsets[j] == offsets[j - 1] + page) j++;
            runs[n++] = blockSegment.asSlice(start, (j - i) * page);
            i = j;
        }
        return n;
    }
}
