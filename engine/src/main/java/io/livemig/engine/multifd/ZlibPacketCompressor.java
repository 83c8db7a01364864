package io.livemig.engine.multifd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.Deflater;

/**
 * multifd zlib, sending side (spec 3.6): one {@link Deflater} with the zlib wrapper for the channel's
 * whole life, never reset or finished; every packet's pages are fed in and the packet ends with
 * {@link Deflater#SYNC_FLUSH}, so every payload ends with the empty stored block {@code 00 00 FF FF} and
 * only the very first one starts with the zlib header ({@code 78 01} at level 1). Input and output are
 * direct buffers over native memory (guest RAM in, an off-heap payload buffer out): no heap copy.
 */
public final class ZlibPacketCompressor implements PacketCompressor {
    private final Deflater deflater;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment out;

    public ZlibPacketCompressor(int level) {
        if (level < 0 || level > 9) throw new IllegalArgumentException("multifd-zlib-level=" + level + ", expected 0..9");
        this.deflater = new Deflater(level, false);
        this.out = arena.allocate(MultifdPacketDescriptor.MAX_COMPRESSED_PAYLOAD_BYTES, 4096);
    }

    @Override
    public MemorySegment compress(MemorySegment[] runs, int runCount) {
        ByteBuffer dst = out.asByteBuffer();
        for (int i = 0; i < runCount; i++) {
            deflater.setInput(runs[i].asByteBuffer());
            while (!deflater.needsInput()) {
                deflater.deflate(dst, Deflater.NO_FLUSH);
                if (!dst.hasRemaining()) throw overflow();
            }
        }
        deflater.setInput(ByteBuffer.allocateDirect(0));
        while (true) {
            int room = dst.remaining();
            int n = deflater.deflate(dst, Deflater.SYNC_FLUSH);
            if (n < room) break;
            if (!dst.hasRemaining()) throw overflow();
        }
        return out.asSlice(0, dst.position());
    }

    private IllegalStateException overflow() {
        return new IllegalStateException("zlib output exceeded " + out.byteSize() + " bytes for one packet");
    }

    @Override
    public void close() {
        deflater.end();
        if (arena.scope().isAlive()) arena.close();
    }
}
