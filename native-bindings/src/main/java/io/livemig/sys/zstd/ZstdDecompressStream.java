package io.livemig.sys.zstd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One zstd decompression stream ({@code ZSTD_DStream}) kept for a whole multifd channel: each packet's
 * payload continues the frame the previous packets started.
 *
 * <p>Threads: one thread at a time (the owning multifd receive thread); {@link #close()} frees it.
 */
public final class ZstdDecompressStream implements AutoCloseable {
    private final ZstdNative.Handles h;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment in;
    private final MemorySegment out;
    private MemorySegment stream;
    private long lastSrcPos;
    private long lastDstPos;

    ZstdDecompressStream(ZstdNative.Handles h) {
        this.h = h;
        this.in = arena.allocate(ZstdNative.BUFFER_STRUCT_BYTES, 8);
        this.out = arena.allocate(ZstdNative.BUFFER_STRUCT_BYTES, 8);
        try {
            MemorySegment s = (MemorySegment) h.createDStream.invokeExact();
            if (s.equals(MemorySegment.NULL)) {
                arena.close();
                throw new OutOfMemoryError("ZSTD_createDStream returned NULL");
            }
            this.stream = s;
            ZstdNative.check(h, (long) h.initDStream.invokeExact(s), "ZSTD_initDStream");
        } catch (Throwable t) {
            close();
            throw ZstdNative.rethrow(t);
        }
    }

    /**
     * One {@code ZSTD_decompressStream} call from {@code src[srcPos..]} into {@code dst[dstPos..]}; the
     * new positions are {@link #lastSrcPos()} and {@link #lastDstPos()}.
     *
     * @return zstd's hint (0 when a frame is complete and fully flushed)
     * @throws ZstdException when the input is corrupt
     */
    public long decompress(MemorySegment src, long srcPos, MemorySegment dst, long dstPos) {
        MemorySegment s = live();
        in.set(ADDRESS, 0, src);
        in.set(JAVA_LONG, 8, src.byteSize());
        in.set(JAVA_LONG, 16, srcPos);
        out.set(ADDRESS, 0, dst);
        out.set(JAVA_LONG, 8, dst.byteSize());
        out.set(JAVA_LONG, 16, dstPos);
        try {
            long r = (long) h.decompressStream.invokeExact(s, out, in);
            lastSrcPos = in.get(JAVA_LONG, 16);
            lastDstPos = out.get(JAVA_LONG, 16);
            return ZstdNative.check(h, r, "ZSTD_decompressStream");
        } catch (Throwable t) {
            throw ZstdNative.rethrow(t);
        }
    }

    /** Input position after the last {@link #decompress} call. */
    public long lastSrcPos() {
        return lastSrcPos;
    }

    /** Output position after the last {@link #decompress} call. */
    public long lastDstPos() {
        return lastDstPos;
    }

    private MemorySegment live() {
        if (stream == null) throw new IllegalStateException("zstd decompression stream is closed");
        return stream;
    }

    /** Frees the stream; idempotent. */
    @Override
    public void close() {
        MemorySegment s = stream;
        stream = null;
        if (s != null) {
            try {
                long ignored = (long) h.freeDStream.invokeExact(s);
            } catch (Throwable t) {
                throw ZstdNative.rethrow(t);
            }
        }
        if (arena.scope().isAlive()) arena.close();
    }
}
