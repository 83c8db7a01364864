package io.livemig.engine.ram;

import io.livemig.engine.stream.StreamWriter;
import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.ZeroPages;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.zip.Deflater;

import static io.livemig.engine.ram.RamRecord.*;

/**
 * Writes RAM section bodies (spec 2): the setup record and page records, straight from guest RAM.
 * Section headers and footers are the caller's (see {@link io.livemig.engine.stream.MigrationStreams}).
 *
 * <p>Per page: zero -> ZERO; else, with XBZRLE and a cached copy, the delta against the cache (empty ->
 * no record, overflow -> PAGE); else COMPRESS_PAGE when compressing; else PAGE. The first record of a
 * block carries its name, later ones CONTINUE; the "last block" survives passes until
 * {@link #resetLastBlock()}.
 *
 * <p>XBZRLE caching: unlike QEMU (which starts caching in the second pass), every page sent while
 * XBZRLE is on is cached, so the second pass can already send deltas; the cache always holds exactly
 * what the destination has. With XBZRLE a page is first copied to a scratch page so the delta, the record
 * and the cache all see the same snapshot of a page the guest may be writing. Single-threaded.
 */
public final class RamSaver implements AutoCloseable {
    private final StreamWriter w;
    private final List<RamRegion> blocks;
    private final RamSaveOptions options;
    private final RamStats stats = new RamStats();
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment scratch;
    private final byte[] encoded = new byte[PAGE_SIZE];
    private final XbzrleCache cache;
    private final Deflater deflater;
    private final byte[] compressed;
    private int lastBlock = -1;
    private int pass;
    private MultifdHook multifd;

    /**
     * Where non-zero pages go when the {@code multifd} capability is on (spec 3): the page is queued on the
     * multifd channels and the main channel gets no record for it; {@link #beforeEos} runs right before
     * every RAM EOS (setup, each PART, END) so the multifd SYNC precedes it, as in QEMU 7.2 (spec 3.5).
     * Failures are thrown as {@link java.io.UncheckedIOException}.
     */
    public interface MultifdHook {
        void queuePage(int blockIndex, RamRegion block, long offset);

        void beforeEos();
    }

    public RamSaver(StreamWriter w, List<RamRegion> blocks, RamSaveOptions options) {
        this.w = w;
        this.blocks = List.copyOf(blocks);
        this.options = options;
        this.scratch = arena.allocate(PAGE_SIZE, PAGE_SIZE);
        this.cache = options.xbzrle() ? new XbzrleCache(options.xbzrleCacheSizeBytes()) : null;
        this.deflater = options.compress() ? new Deflater(options.compressLevel()) : null;
        this.compressed = options.compress() ? new byte[COMPRESS_MAX_LEN + 64] : null;
    }

    public List<RamRegion> blocks() {
        return blocks;
    }

    public RamStats stats() {
        return stats;
    }

    /** The setup body: MEM_SIZE record, the block list, EOS. */
    public void writeSetup() {
        long total = 0;
        for (RamRegion b : blocks) total += b.sizeBytes();
        w.be64(total | FLAG_MEM_SIZE);
        for (RamRegion b : blocks) {
            w.countedString(b.name());
            w.be64(b.sizeBytes());
        }
        stats.add("(setup)", Kind.MEM_SIZE);
        writeEos();
    }

    /** Sends non-zero pages through {@code hook} from now on (null: back to PAGE records on the main channel). */
    public void setMultifd(MultifdHook hook) {
        this.multifd = hook;
    }

    /**
     * Ends a section body. With multifd: the multifd SYNC first, and the EOS is flushed at once (QEMU's
     * qemu_fflush), because the destination holds its multifd channels until it reads this EOS.
     */
    public void writeEos() {
        if (multifd != null) multifd.beforeEos();
        w.be64(FLAG_EOS);
        if (multifd != null) w.flush();
    }

    /**
     * Sends every page whose bit is set in {@code dirty.get(i)} (parallel to {@link #blocks()}), clearing
     * the bits it consumes. Starts a new pass (XBZRLE applies from the second pass on). Returns the number
     * of records written.
     */
    public long savePass(List<DirtyBitmap> dirty) {
        if (dirty.size() != blocks.size()) {
            throw new IllegalArgumentException(dirty.size() + " bitmaps, expected one per block (" + blocks.size() + ")");
        }
        pass++;
        long records = 0;
        for (int b = 0; b < blocks.size(); b++) {
            DirtyBitmap bitmap = dirty.get(b);
            long pages = blocks.get(b).pages();
            if (bitmap.pages() < pages) {
                throw new IllegalArgumentException("bitmap of " + bitmap.pages() + " pages for block "
                        + blocks.get(b).name() + " of " + pages);
            }
            for (long p = bitmap.nextSetBit(0); p >= 0 && p < pages; p = bitmap.nextSetBit(p + 1)) {
                if (!bitmap.testAndClear(p)) continue;
                if (savePage(b, p)) records++;
                if (p + 1 >= bitmap.pages()) break;
            }
        }
        return records;
    }

    /** Passes started so far. */
    public int pass() {
        return pass;
    }

    /** Sends one page; returns false when XBZRLE found it unchanged (no record). */
    public boolean savePage(int blockIndex, long page) {
        RamRegion block = blocks.get(blockIndex);
        MemorySegment src = block.segment().asSlice(page * PAGE_SIZE, PAGE_SIZE);
        long offset = page * PAGE_SIZE;
        if (ZeroPages.isZero(src, 0, PAGE_SIZE)) {
            header(blockIndex, offset, FLAG_ZERO);
            w.u8(0);
            stats.add(block.name(), Kind.ZERO);
            if (cache != null) cache.insertFilled(blockIndex, page, (byte) 0);
            return true;
        }
        if (multifd != null) {
            // 7.2 ram_save_multifd_page: counted as a normal page, no record on the main channel.
            multifd.queuePage(blockIndex, block, offset);
            stats.add(block.name(), Kind.PAGE);
            return true;
        }
        if (cache != null) {
            MemorySegment.copy(src, 0, scratch, 0, PAGE_SIZE);
            MemorySegment old = pass >= 2 ? cache.lookup(blockIndex, page) : null;
            if (old != null) {
                int len = Xbzrle.encode(old, scratch, encoded, PAGE_SIZE);
                if (len == 0) {
                    stats.unchanged();
                    return false;
                }
                if (len > 0) {
                    header(blockIndex, offset, FLAG_XBZRLE);
                    w.u8(XBZRLE_ENCODING);
                    w.be16(len);
                    w.bytes(encoded, 0, len);
                    cache.insert(blockIndex, page, scratch);
                    stats.add(block.name(), Kind.XBZRLE);
                    return true;
                }
                stats.overflow();
            }
            header(blockIndex, offset, FLAG_PAGE);
            w.segment(scratch);
            cache.insert(blockIndex, page, scratch);
            stats.add(block.name(), Kind.PAGE);
            return true;
        }
        if (deflater != null) {
            deflater.reset();
            deflater.setInput(src.asByteBuffer());
            deflater.finish();
            int len = 0;
            while (!deflater.finished()) {
                len += deflater.deflate(compressed, len, compressed.length - len);
                if (len == compressed.length && !deflater.finished()) break;
            }
            if (deflater.finished() && len <= COMPRESS_MAX_LEN) {
                header(blockIndex, offset, FLAG_COMPRESS_PAGE);
                w.be32(len);
                w.bytes(compressed, 0, len);
                stats.add(block.name(), Kind.COMPRESS_PAGE);
                return true;
            }
        }
        header(blockIndex, offset, FLAG_PAGE);
        w.guestPage(src); // zero copy: queued for the next gathering write
        stats.add(block.name(), Kind.PAGE);
        return true;
    }

    /** Makes the next record name its block again (new RAM state, postcopy start, channel switch). */
    public void resetLastBlock() {
        lastBlock = -1;
    }

    private void header(int blockIndex, long offset, int kind) {
        if (blockIndex == lastBlock) {
            w.be64(offset | kind | FLAG_CONTINUE);
        } else {
            w.be64(offset | kind);
            w.countedString(blocks.get(blockIndex).name());
            lastBlock = blockIndex;
        }
    }

    @Override
    public void close() {
        if (cache != null) cache.close();
        if (deflater != null) deflater.end();
        arena.close();
    }
}
