package io.livemig.engine.multifd;

import java.lang.foreign.MemorySegment;

/**
 * The receiving half of one channel's compression stream (spec 3.6): one instance per channel, state
 * kept across packets. Used by exactly one thread (the channel's receive thread).
 */
public sealed interface PacketDecompressor extends AutoCloseable
        permits ZlibPacketDecompressor, ZstdPacketDecompressor {

    /**
     * Decodes {@code payload} into {@code runs[0..runCount)} (slices of guest RAM, packet order), which
     * must come out exactly filled, with the whole payload consumed.
     *
     * @param payloadStreamOffset where the payload starts in the channel, for error messages
     * @throws io.livemig.engine.stream.StreamFormatException when the payload is corrupt, too short or too long
     */
    void decompress(MemorySegment payload, MemorySegment[] runs, int runCount, long payloadStreamOffset);

    @Override
    void close();

    /** The decompressor for {@code compression}, or null for {@link MultifdCompression#NONE}. */
    static PacketDecompressor create(MultifdCompression compression) {
        return switch (compression) {
            case NONE -> null;
            case ZLIB -> new ZlibPacketDecompressor();
            case ZSTD -> new ZstdPacketDecompressor();
        };
    }
}
