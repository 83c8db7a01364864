package io.livemig.sys.zstd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One zstd compression stream ({@code ZSTD_CStream}), never ended: multifd keeps one per channel for the
 * whole migration and flushes it at every packet ({@link ZstdNative#ZSTD_E_FLUSH}), so the first payload
 * starts with a frame header and no payload ends the frame.
 *
 * <p>Threads: one thread at a time (the owning multifd channel thread); {@link #close()} frees the stream.
 */
public final class ZstdCompressStream implements AutoCloseable {
    private final ZstdNative.Handles h;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment in;
    private final MemorySegment out;
    private MemorySegment stream;
    private long lastSrcPos;
    private long lastDstPos;

    ZstdCompressStream(ZstdNative.Handles h, int level) {
        this.h = h;
        this.in = arena.allocate(ZstdNative.BUFFER_STRUCT_BYTES, 8);
        this.out = arena.allocate(ZstdNative.BUFFER_STRUCT_BYTES, 8);
        try {
            MemorySegment s = (MemorySegment) h.createCStream.invokeExact();
            if (s.equals(MemorySegment.NULL)) {
                arena.close();
                throw new OutOfMemoryError("ZSTD_createCStream returned NULL");
            }
            this.stream = s;
            ZstdNative.check(h, (long) h.initCStream.invokeExact(s, level), "ZSTD_initCStream(level=" + level + ")");
        } catch (Throwable t) {
            close();
            throw ZstdNative.rethrow(t);
        }
    }

    /**
     * One {@code ZSTD_compressStream2} call: consumes from {@code src[srcPos..]} and writes to
     * {@code dst[dstPos..]}; the new positions are {@link #lastSrcPos()} and {@link #lastDstPos()}.
     *
     * @param endOp {@link ZstdNative#ZSTD_E_CONTINUE}, {@link ZstdNative#ZSTD_E_FLUSH} or {@link ZstdNative#ZSTD_E_END}
     * @return zstd's hint: for flush/end, the bytes still to be flushed (0 = done)
     * @throws ZstdException when zstd reports an error
     */
    public long compress(MemorySegment src, long srcPos, MemorySegment dst, long dstPos, int endOp) {
        MemorySegment s = live();
        in.set(ADDRESS, 0, src);
        in.set(JAVA_LONG, 8, src.byteSize());
        in.set(JAVA_LONG, 16, srcPos);
        out.set(ADDRESS, 0, dst);
        out.set(JAVA_LONG, 8, dst.byteSize());
        out.set(JAVA_LONG, 16, dstPos);
        try {
            long r = (long) h.compressStream2.invokeExact(s, out, in, endOp);
            lastSrcPos = in.get(JAVA_LONG, 16);
            lastDstPos = out.get(JAVA_LONG, 16);
            return ZstdNative.check(h, r, "ZSTD_compressStream2");
        } catch (Throwable t) {
            throw ZstdNative.rethrow(t);
        }
    }

    /** Input position after the last {@link #compress} call. */
    public long lastSrcPos() {
        return lastSrcPos;
    }

    /** Output position after the last {@link #compress} call. */
    public long lastDstPos() {
        return lastDstPos;
    }

    private MemorySegment live() {
        if (stream == null) throw new IllegalStateException("zstd compression stream is closed");
        return stream;
    }

    /** Frees the stream; idempotent. */
    @Override
    public void close() {
        MemorySegment s = stream;
        stream = null;
        if (s != null) {
            try {
                long ignored = (long) h.freeCStream.invokeExact(s);
            } catch (Throwable t) {
                throw ZstdNative.rethrow(t);
            }
        }
        if (arena.scope().isAlive()) arena.close();
    }
}
