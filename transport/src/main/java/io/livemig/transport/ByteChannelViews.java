package io.livemig.transport;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.util.function.BooleanSupplier;

/**
 * The java.nio views of a {@link MigrationChannel} (what the stream codec reads and writes through). Direct
 * buffers go to the channel as they are; a heap buffer is staged once through native memory on write,
 * since the native channels hand segment addresses to the kernel.
 */
public final class ByteChannelViews {
    private ByteChannelViews() {
    }

    /** Reads go straight into {@code dst}'s memory; {@code open} answers {@code isOpen()}. */
    public static ReadableByteChannel readable(MigrationChannel ch, BooleanSupplier open) {
        return new ReadableByteChannel() {
            @Override
            public int read(ByteBuffer dst) throws IOException {
                if (!dst.hasRemaining()) return 0;
                int n = ch.read(MemorySegment.ofBuffer(dst));
                if (n > 0) dst.position(dst.position() + n);
                return n;
            }

            @Override
            public boolean isOpen() {
                return open.getAsBoolean();
            }

            @Override
            public void close() throws IOException {
                ch.close();
            }
        };
    }

    /**
     * Writes all of {@code src}'s remaining bytes; {@code open} answers {@code isOpen()}. The view gathers:
     * {@code write(ByteBuffer[])} is one {@link MigrationChannel#write(MemorySegment...)} (one writev on
     * sockets), which the stream writer uses to send queued guest pages without copying them.
     */
    public static GatheringByteChannel writable(MigrationChannel ch, BooleanSupplier open) {
        return new GatheringByteChannel() {
            @Override
            public int write(ByteBuffer src) throws IOException {
                int n = src.remaining();
                if (n == 0) return 0;
                MemorySegment seg = MemorySegment.ofBuffer(src);
                if (seg.isNative()) {
                    ch.write(seg);
                } else {
                    try (Arena a = Arena.ofConfined()) {
                        ch.write(staged(a, seg));
                    }
                }
                src.position(src.position() + n);
                return n;
            }

            @Override
            public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
                long total = 0;
                for (int i = offset; i < offset + length; i++) total += srcs[i].remaining();
                ch.write(srcs, offset, length);
                return total;
            }

            @Override
            public long write(ByteBuffer[] srcs) throws IOException {
                return write(srcs, 0, srcs.length);
            }

            @Override
            public boolean isOpen() {
                return open.getAsBoolean();
            }

            @Override
            public void close() throws IOException {
                ch.close();
            }
        };
    }

    private static MemorySegment staged(Arena a, MemorySegment heap) {
        MemorySegment tmp = a.allocate(heap.byteSize());
        MemorySegment.copy(heap, 0, tmp, 0, heap.byteSize());
        return tmp;
    }
}
