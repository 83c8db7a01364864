package io.livemig.engine.multifd;

import io.livemig.engine.stream.StreamFormatException;
import io.livemig.sys.zstd.ZstdDecompressStream;
import io.livemig.sys.zstd.ZstdException;
import io.livemig.sys.zstd.ZstdNative;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * multifd zstd, receiving side (spec 3.6): one streaming decompressor kept across all packets of the
 * channel, decompressing straight into the guest-RAM slices; each payload must yield exactly the packet's
 * pages and be consumed completely. FFM to the system libzstd (see {@link ZstdPacketCompressor} for why).
 */
public final class ZstdPacketDecompressor implements PacketDecompressor {
    private final ZstdDecompressStream stream = ZstdNative.createDecompressStream();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment overflow = arena.allocate(1);

    @Override
    public void decompress(MemorySegment payload, MemorySegment[] runs, int runCount, long payloadStreamOffset) {
        long expected = 0;
        for (int i = 0; i < runCount; i++) expected += runs[i].byteSize();
        long srcPos = 0;
        long produced = 0;
        try {
            for (int i = 0; i < runCount; i++) {
                MemorySegment dst = runs[i];
                long dstPos = 0;
                while (dstPos < dst.byteSize()) {
                    long before = srcPos;
                    long beforeDst = dstPos;
                    stream.decompress(payload, srcPos, dst, dstPos);
                    srcPos = stream.lastSrcPos();
                    dstPos = stream.lastDstPos();
                    produced += dstPos - beforeDst;
                    if (srcPos == before && dstPos == beforeDst) {
                        throw new StreamFormatException("multifd.packet.payload", "zstd data for " + produced
                                + " bytes", expected + " bytes (normal_pages x 4096)", payloadStreamOffset + srcPos);
                    }
                }
            }
            while (srcPos < payload.byteSize()) {
                long before = srcPos;
                stream.decompress(payload, srcPos, overflow, 0);
                srcPos = stream.lastSrcPos();
                if (stream.lastDstPos() > 0) {
                    throw new StreamFormatException("multifd.packet.payload", "zstd data for more than "
                            + expected + " bytes", expected + " bytes (normal_pages x 4096)", payloadStreamOffset);
                }
                if (srcPos == before) {
                    throw new StreamFormatException("multifd.packet.payload", (payload.byteSize() - srcPos)
                            + " unused trailing bytes", "a payload that ends with a zstd flush",
                            payloadStreamOffset + srcPos);
                }
            }
        } catch (ZstdException e) {
            throw new StreamFormatException("multifd.packet.payload", "corrupt zstd data (" + e.getMessage() + ")",
                    "the channel's zstd stream", payloadStreamOffset, e);
        }
    }

    @Override
    public void close() {
        stream.close();
        if (arena.scope().isAlive()) arena.close();
    }
}
