package io.livemig.engine.multifd;

import io.livemig.sys.zstd.ZstdCompressStream;
import io.livemig.sys.zstd.ZstdNative;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * multifd zstd, sending side (spec 3.6): one zstd compression stream per channel, never ended; each
 * packet is fed with {@code ZSTD_e_continue} and closed with {@code ZSTD_e_flush}, so the first payload
 * starts with a frame header {@code 28 B5 2F FD} and every payload is decodable on arrival.
 *
 * <p>Binding: FFM to the system {@code libzstd.so.1} ({@link ZstdNative}), not zstd-jni: no native library
 * extracted into /tmp, the same library QEMU links, pages compressed straight from guest-RAM
 * {@link MemorySegment}s, and no extra dependency. See {@link ZstdNative} for the full reasoning.
 */
public final class ZstdPacketCompressor implements PacketCompressor {
    private final ZstdCompressStream stream;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment out;

    public ZstdPacketCompressor(int level) {
        if (level < 0 || level > 20) throw new IllegalArgumentException("multifd-zstd-level=" + level + ", expected 0..20");
        this.stream = ZstdNative.createCompressStream(level);
        this.out = arena.allocate(Math.max(MultifdPacketDescriptor.MAX_COMPRESSED_PAYLOAD_BYTES,
                ZstdNative.compressBound((long) MultifdPacketDescriptor.PAGES_PER_PACKET * MultifdPacketDescriptor.PAGE_SIZE)), 4096);
    }

    @Override
    public MemorySegment compress(MemorySegment[] runs, int runCount) {
        long pos = 0;
        for (int i = 0; i < runCount; i++) {
            MemorySegment src = runs[i];
            long srcPos = 0;
            while (srcPos < src.byteSize()) {
                stream.compress(src, srcPos, out, pos, ZstdNative.ZSTD_E_CONTINUE);
                srcPos = stream.lastSrcPos();
                pos = stream.lastDstPos();
                if (pos == out.byteSize()) throw overflow();
            }
        }
        MemorySegment empty = arena.allocate(0);
        while (true) {
            long remaining = stream.compress(empty, 0, out, pos, ZstdNative.ZSTD_E_FLUSH);
            pos = stream.lastDstPos();
            if (remaining == 0) break;
            if (pos == out.byteSize()) throw overflow();
        }
        return out.asSlice(0, pos);
    }

    private IllegalStateException overflow() {
        return new IllegalStateException("zstd output exceeded " + out.byteSize() + " bytes for one packet");
    }

    @Override
    public void close() {
        stream.close();
        if (arena.scope().isAlive()) arena.close();
    }
}
