package io.livemig.engine.ram;

import io.livemig.engine.stream.StreamFormatException;
import io.livemig.engine.stream.StreamReader;
import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.ZeroPages;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

import static io.livemig.engine.ram.RamRecord.*;
import static io.livemig.engine.stream.StreamFormatException.hex;

/**
 * Applies RAM section bodies (spec 2) to guest RAM. Every length, name and offset is checked before use;
 * writes go only to {@code [offset, offset + 4096)} of a known block's segment, with
 * {@code offset + 4096 <= block size}. Page payloads are read from the stream straight into the guest
 * segment; compressed pages inflate straight into it.
 *
 * <p>What it tolerates, like QEMU 7.2: ZERO with a non-zero fill byte (honoured); records in any order;
 * page records before the setup record (blocks are known locally); XBZRLE on any page (applied on top of
 * the current contents). What it refuses: any record kind other than exactly one of
 * MEM_SIZE/ZERO/PAGE/XBZRLE/COMPRESS_PAGE/EOS (plus CONTINUE on page kinds), HOOK (RDMA),
 * COMPRESS_PAGE without the {@code compress} capability, CONTINUE before any named block, unknown
 * blocks, setup lengths that differ from the local block (no resizable blocks), and the postcopy /
 * x-ignore-shared setup extensions (those capabilities are not negotiated here).
 *
 * <p>Analysis mode ({@link #forAnalysis()}) has no guest RAM: blocks come from the setup record,
 * payloads are validated (deltas parsed, compressed pages inflated to scratch) and dropped.
 */
public final class RamLoader implements AutoCloseable {
    /** Upper bound on the blocks a setup record may list in analysis mode. */
    public static final int MAX_BLOCKS = 1024;

    private final Map<String, Block> blocks = new LinkedHashMap<>();
    private final boolean analysis;
    private final boolean compressEnabled;
    private final RamStats stats = new RamStats();
    private final byte[] delta = new byte[PAGE_SIZE];
    private final byte[] compressed = new byte[COMPRESS_MAX_LEN];
    /** Scratch pages only; GC-managed so analysis-mode loaders need no close. */
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment scratch;
    private Inflater inflater;
    private Block last;
    private boolean setupSeen;
    private Runnable eosHook;

    /**
     * Runs at every RAM EOS (multifd: {@code MultifdReceiver.syncMain}, QEMU 7.2's multifd_recv_sync_main,
     * spec 3.5). With multifd the loader must not be built with {@code freshRam}: pages placed by the
     * multifd channels are not in its written-page bitmap.
     */
    public void setEosHook(Runnable hook) {
        this.eosHook = hook;
    }

    /** @param written pages this load wrote, when the RAM started fresh (else null: no fast path) */
    private record Block(String name, MemorySegment segment, long sizeBytes, DirtyBitmap written) {}

    /** Sees every applied XBZRLE delta with the page before and after (tests: re-encode checks). */
    public interface XbzrleObserver {
        void onDelta(String block, long offset, MemorySegment before, MemorySegment after, byte[] delta, int length);
    }

    private XbzrleObserver xbzrleObserver;
    private MemorySegment before;

    /** Installs an observer (costs one page copy per XBZRLE record while set). */
    public void observeXbzrle(XbzrleObserver observer) {
        this.xbzrleObserver = observer;
        if (before == null) before = arena.allocate(PAGE_SIZE, PAGE_SIZE);
    }

    /**
     * @param compressEnabled whether this destination has the {@code compress} capability on (else
     *                        COMPRESS_PAGE is refused, as in QEMU)
     */
    public RamLoader(List<RamRegion> regions, boolean compressEnabled) {
        this(regions, compressEnabled, false);
    }

    /**
     * @param freshRam the regions are all zero and unwritten since they were mapped: a ZERO record with fill
     *                 0 for a page this loader has not written is skipped without touching the page (on a
     *                 fresh mapping even reading it would fault a page in)
     */
    public RamLoader(List<RamRegion> regions, boolean compressEnabled, boolean freshRam) {
        for (RamRegion r : regions) {
            blocks.put(r.name(), new Block(r.name(), r.segment(), r.sizeBytes(),
                    freshRam ? new DirtyBitmap(r.pages()) : null));
        }
        this.analysis = false;
        this.compressEnabled = compressEnabled;
        this.scratch = arena.allocate(PAGE_SIZE, PAGE_SIZE);
    }

    private RamLoader() {
        this.analysis = true;
        this.compressEnabled = true;
        this.scratch = arena.allocate(PAGE_SIZE, PAGE_SIZE);
    }

    /** A loader without guest RAM that validates and counts records (the analyzer). */
    public static RamLoader forAnalysis() {
        return new RamLoader();
    }

    public RamStats stats() {
        return stats;
    }

    public boolean setupSeen() {
        return setupSeen;
    }

    /** Block names and sizes (from the local RAM, or from the setup record in analysis mode). */
    public Map<String, Long> blockSizes() {
        Map<String, Long> m = new LinkedHashMap<>();
        blocks.values().forEach(b -> m.put(b.name(), b.sizeBytes()));
        return m;
    }

    /** Reads records up to and including EOS. */
    public void loadBody(StreamReader r) {
        while (true) {
            long at = r.position();
            long v = r.be64("ram.record");
            int flags = (int) (v & FLAGS_MASK);
            long offset = v & ~FLAGS_MASK;
            int kind = flags & ~FLAG_CONTINUE;
            switch (kind) {
                case FLAG_EOS -> {
                    stats.add("(eos)", Kind.EOS);
                    if (eosHook != null) eosHook.run();
                    return;
                }
                case FLAG_MEM_SIZE -> loadSetup(r, offset, at);
                case FLAG_ZERO, FLAG_PAGE, FLAG_XBZRLE, FLAG_COMPRESS_PAGE -> loadPage(r, kind, flags, offset, at);
                case FLAG_HOOK -> throw new StreamFormatException("ram.record.flags", hex(flags),
                        "no HOOK (0x80, RDMA only)", at);
                default -> throw new StreamFormatException("ram.record.flags", hex(flags),
                        "exactly one of ZERO 0x2, MEM_SIZE 0x4, PAGE 0x8, EOS 0x10, XBZRLE 0x40, COMPRESS_PAGE 0x100"
                                + " (optionally | CONTINUE 0x20)", at);
            }
        }
    }

    private void loadSetup(StreamReader r, long total, long at) {
        long left = total;
        List<Block> seen = new ArrayList<>();
        while (left > 0) {
            long nameAt = r.position();
            String name = r.countedString("ram.setup.block_name", false);
            long lenAt = r.position();
            long len = r.be64("ram.setup.used_length");
            Block local = blocks.get(name);
            if (analysis) {
                if (local == null && blocks.size() >= MAX_BLOCKS) {
                    throw new StreamFormatException("ram.setup.block_count", blocks.size() + 1, "<= " + MAX_BLOCKS, nameAt);
                }
                if (len < 0 || len > left || (len & FLAGS_MASK) != 0) {
                    throw new StreamFormatException("ram.setup.used_length", hex(len),
                            "a multiple of 4096 <= the remaining total " + hex(left), lenAt);
                }
                blocks.put(name, new Block(name, null, len, null));
            } else {
                if (local == null) {
                    throw new StreamFormatException("ram.setup.block_name", "\"" + name + "\"",
                            "a local RAM block, one of " + blocks.keySet(), nameAt);
                }
                if (len != local.sizeBytes()) {
                    throw new StreamFormatException("ram.setup.used_length", hex(len),
                            hex(local.sizeBytes()) + ", the size of local block " + name, lenAt);
                }
                if (len > left) {
                    throw new StreamFormatException("ram.setup.used_length", hex(len),
                            "<= the remaining total " + hex(left), lenAt);
                }
                seen.add(local);
            }
            left -= len;
        }
        if (left != 0) {
            throw new StreamFormatException("ram.setup.total", hex(total), "the sum of the block lengths", at);
        }
        setupSeen = true;
        stats.add("(setup)", Kind.MEM_SIZE);
    }

    private void loadPage(StreamReader r, int kind, int flags, long offset, long at) {
        if (kind == FLAG_COMPRESS_PAGE && !compressEnabled) {
            throw new StreamFormatException("ram.record.flags", hex(flags),
                    "no COMPRESS_PAGE: the compress capability is off on this destination", at);
        }
        Block block;
        if ((flags & FLAG_CONTINUE) != 0) {
            if (last == null) {
                throw new StreamFormatException("ram.record.flags", hex(flags),
                        "a block name (CONTINUE 0x20 needs an earlier record that named the block)", at);
            }
            block = last;
        } else {
            long nameAt = r.position();
            String name = r.countedString("ram.record.block_name", false);
            block = blocks.get(name);
            if (block == null) {
                throw new StreamFormatException("ram.record.block_name", "\"" + name + "\"",
                        "a known RAM block, one of " + blocks.keySet(), nameAt);
            }
            last = block;
        }
        if (offset < 0 || offset > block.sizeBytes() - PAGE_SIZE) {
            throw new StreamFormatException("ram.record.offset", hex(offset),
                    "a page offset < " + hex(block.sizeBytes()) + " (size of block " + block.name() + ")", at);
        }
        MemorySegment page = analysis ? scratch : block.segment().asSlice(offset, PAGE_SIZE);
        DirtyBitmap written = block.written();
        switch (kind) {
            case FLAG_ZERO -> {
                int fill = r.u8("ram.zero.fill");
                if (written != null && fill == 0 && !written.get(offset / PAGE_SIZE)) {
                    // still the zero page the kernel gave us: nothing to do
                } else if (fill != 0 || !ZeroPages.isZero(page, 0, PAGE_SIZE)) {
                    page.fill((byte) fill);
                    if (written != null) written.set(offset / PAGE_SIZE);
                }
                stats.add(block.name(), Kind.ZERO);
            }
            case FLAG_PAGE -> {
                if (analysis) r.skip(PAGE_SIZE, "ram.page.data");
                else r.readFully(page, "ram.page.data");
                if (written != null) written.set(offset / PAGE_SIZE);
                stats.add(block.name(), Kind.PAGE);
            }
            case FLAG_XBZRLE -> {
                long encAt = r.position();
                int enc = r.u8("ram.xbzrle.encoding");
                if (enc != XBZRLE_ENCODING) {
                    throw new StreamFormatException("ram.xbzrle.encoding", hex(enc), "0x1", encAt);
                }
                long lenAt = r.position();
                int len = r.be16("ram.xbzrle.len");
                if (len > PAGE_SIZE) {
                    throw new StreamFormatException("ram.xbzrle.len", len, "<= " + PAGE_SIZE, lenAt);
                }
                long dataAt = r.position();
                r.bytes(delta, 0, len, "ram.xbzrle.delta");
                if (analysis) {
                    Xbzrle.validate(delta, len, PAGE_SIZE, dataAt);
                } else {
                    if (xbzrleObserver != null) MemorySegment.copy(page, 0, before, 0, PAGE_SIZE);
                    Xbzrle.decode(delta, len, page, dataAt);
                    if (written != null) written.set(offset / PAGE_SIZE);
                    if (xbzrleObserver != null) xbzrleObserver.onDelta(block.name(), offset, before, page, delta, len);
                }
                stats.add(block.name(), Kind.XBZRLE);
            }
            case FLAG_COMPRESS_PAGE -> {
                long lenAt = r.position();
                long len = r.be32u("ram.compress.len");
                if (len > COMPRESS_MAX_LEN) {
                    throw new StreamFormatException("ram.compress.len", len, "<= " + COMPRESS_MAX_LEN + " (compressBound(4096))", lenAt);
                }
                long dataAt = r.position();
                r.bytes(compressed, 0, (int) len, "ram.compress.data");
                inflate(compressed, (int) len, page, dataAt);
                if (written != null) written.set(offset / PAGE_SIZE);
                stats.add(block.name(), Kind.COMPRESS_PAGE);
            }
            default -> throw new AssertionError(kind);
        }
    }

    private void inflate(byte[] data, int len, MemorySegment page, long at) {
        if (inflater == null) inflater = new Inflater();
        inflater.reset();
        inflater.setInput(data, 0, len);
        ByteBuffer out = page.asByteBuffer();
        try {
            while (out.hasRemaining() && !inflater.finished()) {
                int n = inflater.inflate(out);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) break;
            }
            if (!inflater.finished()) {
                if (out.hasRemaining()) {
                    throw new StreamFormatException("ram.compress.data", "a zlib stream ending after " + out.position() + " bytes",
                            "a complete zlib stream inflating to " + PAGE_SIZE + " bytes", at);
                }
                // Page full: the stream must end right here (a zero-length final read).
                byte[] probe = new byte[1];
                int extra = inflater.inflate(probe);
                if (extra != 0 || !inflater.finished()) {
                    throw new StreamFormatException("ram.compress.data", "a zlib stream inflating to more than " + PAGE_SIZE + " bytes",
                            "exactly " + PAGE_SIZE + " bytes", at);
                }
            }
            if (out.hasRemaining()) {
                throw new StreamFormatException("ram.compress.data", "a zlib stream inflating to " + out.position() + " bytes",
                        "exactly " + PAGE_SIZE + " bytes", at);
            }
        } catch (DataFormatException e) {
            throw new StreamFormatException("ram.compress.data", "invalid zlib data (" + e.getMessage() + ")",
                    "one zlib stream (RFC 1950) per page", at, e);
        }
    }

    @Override
    public void close() {
        if (inflater != null) inflater.end();
    }
}
