package io.livemig.engine.multifd;

import io.livemig.engine.stream.StreamFormatException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * multifd zlib, receiving side (spec 3.6): one {@link Inflater} kept across all packets of a channel;
 * each payload must inflate to exactly the packet's pages and be consumed completely (including the
 * trailing sync-flush block), inflating straight into guest RAM through direct buffers.
 */
public final class ZlibPacketDecompressor implements PacketDecompressor {
    private final Inflater inflater = new Inflater(false);
    private final Arena arena = Arena.ofShared();
    /** Catches output beyond the packet's pages. */
    private final ByteBuffer overflow = arena.allocate(1).asByteBuffer();

    @Override
    public void decompress(MemorySegment payload, MemorySegment[] runs, int runCount, long payloadStreamOffset) {
        ByteBuffer in = payload.asByteBuffer();
        inflater.setInput(in);
        long expected = 0;
        long produced = 0;
        for (int i = 0; i < runCount; i++) expected += runs[i].byteSize();
        try {
            for (int i = 0; i < runCount; i++) {
                ByteBuffer dst = runs[i].asByteBuffer();
                while (dst.hasRemaining()) {
                    int n = inflater.inflate(dst);
                    produced += n;
                    if (n == 0 && (inflater.needsInput() || inflater.finished() || inflater.needsDictionary())) {
                        throw new StreamFormatException("multifd.packet.payload", "zlib data for " + produced
                                + " bytes", expected + " bytes (normal_pages x 4096)", payloadStreamOffset);
                    }
                }
            }
            // Consume the rest (the 00 00 FF FF sync-flush block); it must not produce any byte.
            while (in.hasRemaining()) {
                int before = in.remaining();
                overflow.clear();
                int n = inflater.inflate(overflow);
                if (n > 0) {
                    throw new StreamFormatException("multifd.packet.payload", "zlib data for more than "
                            + expected + " bytes", expected + " bytes (normal_pages x 4096)", payloadStreamOffset);
                }
                if (in.remaining() == before) {
                    throw new StreamFormatException("multifd.packet.payload", in.remaining()
                            + " unused trailing bytes", "a payload that ends with the zlib sync flush",
                            payloadStreamOffset + payload.byteSize() - in.remaining());
                }
            }
        } catch (DataFormatException e) {
            throw new StreamFormatException("multifd.packet.payload", "corrupt zlib data (" + e.getMessage() + ")",
                    "the channel's zlib stream", payloadStreamOffset, e);
        }
    }

    @Override
    public void close() {
        inflater.end();
        if (arena.scope().isAlive()) arena.close();
    }
}
