package io.livemig.engine.ram;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The source's XBZRLE page cache (migration parameter {@code xbzrle-cache-size}): the copy of each
 * cached page as the destination last received it. Direct-mapped like QEMU's: the slot count is the
 * cache size in pages rounded down to a power of two; a new page evicts whatever shares its slot.
 * Off-heap, owned by one migration thread; {@link #close()} frees it.
 */
public final class XbzrleCache implements AutoCloseable {
    private static final int PAGE = RamRecord.PAGE_SIZE;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment data;
    private final long[] keys;
    private final int mask;

    /** @param cacheSizeBytes at least one page; e.g. 64 MiB (QEMU's default) */
    public XbzrleCache(long cacheSizeBytes) {
        if (cacheSizeBytes < PAGE) {
            throw new IllegalArgumentException("xbzrle-cache-size=" + cacheSizeBytes + ", expected >= " + PAGE);
        }
        long pages = Long.highestOneBit(cacheSizeBytes / PAGE);
        if (pages > (1 << 30)) throw new IllegalArgumentException("xbzrle-cache-size=" + cacheSizeBytes + ", too large");
        this.keys = new long[(int) pages];
        Arrays.fill(keys, -1L);
        this.mask = (int) pages - 1;
        this.data = arena.allocate(pages * PAGE, PAGE);
    }

    public int slots() {
        return keys.length;
    }

    private static long key(int block, long page) {
        return ((long) block << 40) | page;
    }

    /** Like QEMU, indexed by page number (so a cache as large as RAM holds every page); blocks are spread. */
    private int slot(long key) {
        long block = key >>> 40;
        long page = key & ((1L << 40) - 1);
        return (int) ((page + block * 0x9E3779B1L) & mask);
    }

    /** The cached copy of ({@code block}, {@code page}), or null. The slice stays valid until the next insert. */
    public MemorySegment lookup(int block, long page) {
        long k = key(block, page);
        int s = slot(k);
        return keys[s] == k ? data.asSlice((long) s * PAGE, PAGE) : null;
    }

    /** Caches {@code contents} (one page) for ({@code block}, {@code page}). */
    public void insert(int block, long page, MemorySegment contents) {
        long k = key(block, page);
        int s = slot(k);
        keys[s] = k;
        MemorySegment.copy(contents, 0, data, (long) s * PAGE, PAGE);
    }

    /** Caches a page of {@code fill} bytes (a ZERO record was sent). */
    public void insertFilled(int block, long page, byte fill) {
        long k = key(block, page);
        int s = slot(k);
        keys[s] = k;
        data.asSlice((long) s * PAGE, PAGE).fill(fill);
    }

    /** Forgets the page (its destination copy is no longer known). */
    public void invalidate(int block, long page) {
        long k = key(block, page);
        int s = slot(k);
        if (keys[s] == k) keys[s] = -1L;
    }

    @Override
    public void close() {
        arena.close();
    }
}
