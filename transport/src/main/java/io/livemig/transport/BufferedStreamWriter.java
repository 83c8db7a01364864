package io.livemig.transport;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * QEMUFile-style buffered writer over a {@link MigrationChannel}: small big-endian fields collect in an
 * off-heap buffer; {@link #writeDirect} sends the buffered bytes and a large segment (a guest page,
 * straight from guest RAM) in one gathering write, without copying the page. An optional
 * {@link RateLimiter} caps the bytes per second that reach the channel.
 *
 * <p>Threads: owned by one writing thread (the migration thread); not thread-safe.
 */
public final class BufferedStreamWriter implements AutoCloseable {
    /** Default buffer size: as QEMU's IO_BUF_SIZE. */
    public static final int DEFAULT_BUFFER_BYTES = 32 * 1024;

    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong BE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final MigrationChannel channel;
    private final RateLimiter limiter;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buffer;
    private int used;
    private long bytesOut;

    /**
     * @param maxBandwidthBytesPerSec 0 = unlimited
     */
    public BufferedStreamWriter(MigrationChannel channel, int bufferBytes, long maxBandwidthBytesPerSec) {
        if (bufferBytes < 64) throw new IllegalArgumentException("bufferBytes=" + bufferBytes + ", expected >= 64");
        this.channel = channel;
        this.limiter = new RateLimiter(maxBandwidthBytesPerSec);
        this.buffer = arena.allocate(bufferBytes, 64);
    }

    public BufferedStreamWriter(MigrationChannel channel) {
        this(channel, DEFAULT_BUFFER_BYTES, 0);
    }

    public MigrationChannel channel() {
        return channel;
    }

    public RateLimiter rateLimiter() {
        return limiter;
    }

    /** Bytes handed to the channel plus bytes still buffered. */
    public long position() {
        return bytesOut + used;
    }

    private void ensure(int n) throws IOException {
        if (used + n > buffer.byteSize()) flush();
    }

    public BufferedStreamWriter put8(int v) throws IOException {
        ensure(1);
        buffer.set(ValueLayout.JAVA_BYTE, used, (byte) v);
        used += 1;
        return this;
    }

    public BufferedStreamWriter putBe16(int v) throws IOException {
        ensure(2);
        buffer.set(BE16, used, (short) v);
        used += 2;
        return this;
    }

    public BufferedStreamWriter putBe32(int v) throws IOException {
        ensure(4);
        buffer.set(BE32, used, v);
        used += 4;
        return this;
    }

    public BufferedStreamWriter putBe64(long v) throws IOException {
        ensure(8);
        buffer.set(BE64, used, v);
        used += 8;
        return this;
    }

    public BufferedStreamWriter putBytes(byte[] b) throws IOException {
        return putBytes(MemorySegment.ofArray(b));
    }

    /** Copies {@code src} into the buffer (for small data; use {@link #writeDirect} for pages). */
    public BufferedStreamWriter putBytes(MemorySegment src) throws IOException {
        long off = 0;
        while (off < src.byteSize()) {
            if (used == buffer.byteSize()) flush();
            long n = Math.min(src.byteSize() - off, buffer.byteSize() - used);
            MemorySegment.copy(src, off, buffer, used, n);
            used += (int) n;
            off += n;
        }
        return this;
    }

    /** Sends the buffered bytes followed by {@code src} in one gathering write; {@code src} is not copied. */
    public void writeDirect(MemorySegment src) throws IOException {
        long n = used + src.byteSize();
        limiter.acquire(n);
        if (used > 0) {
            channel.write(buffer.asSlice(0, used), src);
        } else {
            channel.write(src);
        }
        bytesOut += n;
        used = 0;
    }

    /** Sends the buffered bytes. */
    public void flush() throws IOException {
        if (used == 0) return;
        limiter.acquire(used);
        channel.write(buffer.asSlice(0, used));
        bytesOut += used;
        used = 0;
    }

    /** Flushes and frees the buffer; does not close the channel (its owner does). */
    @Override
    public void close() throws IOException {
        try {
            flush();
        } finally {
            arena.close();
        }
    }
}
