package io.livemig.engine.multifd;

import java.lang.foreign.MemorySegment;

/**
 * The sending half of one channel's compression stream (spec 3.6): one instance per channel, for the
 * whole migration, never reset; each call ends with a flush so the receiver can decode the packet without
 * waiting for the next one. Used by exactly one thread (the channel's sender thread).
 */
public sealed interface PacketCompressor extends AutoCloseable permits ZlibPacketCompressor, ZstdPacketCompressor {

    /**
     * Compresses {@code runs[0..runCount)} (slices of guest RAM, in packet order) and flushes.
     *
     * @return the payload: a slice of this compressor's own buffer, valid until the next call
     */
    MemorySegment compress(MemorySegment[] runs, int runCount);

    @Override
    void close();

    /** The compressor for {@code compression} at {@code level}, or null for {@link MultifdCompression#NONE}. */
    static PacketCompressor create(MultifdCompression compression, int level) {
        return switch (compression) {
            case NONE -> null;
            case ZLIB -> new ZlibPacketCompressor(level);
            case ZSTD -> new ZstdPacketCompressor(level);
        };
    }
}
