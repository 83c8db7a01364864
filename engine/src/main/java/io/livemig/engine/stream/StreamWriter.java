package io.livemig.engine.stream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Big-endian writer over a byte channel with a position counter. Small fields are gathered in one
 * direct buffer; a page from guest RAM ({@link #segment}) is copied off-heap into that buffer when it fits,
 * and otherwise written to the channel straight from the guest segment's direct {@link ByteBuffer} view,
 * so page data never passes through the Java heap. Call {@link #flush()} before handing the channel on.
 * Channel failures raise {@link UncheckedIOException}. Not thread-safe.
 *
 * <p>{@link #guestPage} is the zero-copy form for guest RAM over a {@link GatheringByteChannel} (the
 * migration channels): the page is not copied but queued as an iovec next to the buffered header bytes,
 * and up to {@link #MAX_IOV} of them go out in one {@code writev}, as QEMU's {@code qemu_put_buffer_async}
 * does. A queued page is read by the kernel at the next flush, not at the call: if the guest writes it in
 * between, the newer bytes go out and the dirty log has the page again, so the next pass resends it.
 */
public final class StreamWriter implements AutoCloseable {
    private static final int BUFFER_BYTES = 64 * 1024;
    /** iovecs per gathering write (QEMU: MAX_IOV_SIZE 64). */
    static final int MAX_IOV = 64;
    /** Queued page bytes that force a flush (keeps each writev bounded, the rate limiter fine-grained). */
    private static final long MAX_QUEUED_BYTES = 256 * 1024;

    private final WritableByteChannel channel;
    private final ByteBuffer buf;
    private final MemorySegment bufSeg;
    private long flushed;
    /** Non-null when the channel gathers: pending iovecs (buffer slices and guest pages) in stream order. */
    private final ByteBuffer[] iov;
    private int iovCount;
    /** Start of the buffered bytes not yet referenced by an iovec. */
    private int bufMark;
    /** Bytes of queued guest pages (not in {@link #buf}). */
    private long queuedBytes;

    public StreamWriter(WritableByteChannel channel) {
        this.channel = channel;
        this.iov = channel instanceof GatheringByteChannel ? new ByteBuffer[MAX_IOV + 1] : null;
        this.buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.BIG_ENDIAN);
        this.bufSeg = MemorySegment.ofBuffer(buf);
    }

    /** Encodes with {@code body} into a byte array (tests, small records, the vmdesc). */
    public static byte[] toBytes(Consumer<StreamWriter> body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StreamWriter w = new StreamWriter(Channels.newChannel(out));
        body.accept(w);
        w.flush();
        return out.toByteArray();
    }

    /** Bytes written so far (including buffered ones). */
    public long position() {
        return flushed + queuedBytes + buf.position();
    }

    public StreamWriter u8(int v) {
        room(1);
        buf.put((byte) v);
        return this;
    }

    public StreamWriter be16(int v) {
        room(2);
        buf.putShort((short) v);
        return this;
    }

    public StreamWriter be32(int v) {
        room(4);
        buf.putInt(v);
        return this;
    }

    public StreamWriter be64(long v) {
        room(8);
        buf.putLong(v);
        return this;
    }

    public StreamWriter bytes(byte[] b) {
        return bytes(b, 0, b.length);
    }

    public StreamWriter bytes(byte[] b, int off, int len) {
        while (len > 0) {
            if (!buf.hasRemaining()) flush();
            int n = Math.min(len, buf.remaining());
            buf.put(b, off, n);
            off += n;
            len -= n;
        }
        return this;
    }

    /** {@code n} zero bytes. */
    public StreamWriter zeros(int n) {
        for (int i = 0; i < n; i++) u8(0);
        return this;
    }

    /** {@code u8 length + bytes} (ISO-8859-1); at most 255 bytes. */
    public StreamWriter countedString(String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        if (b.length > 255) throw new IllegalArgumentException("string of " + b.length + " bytes, expected <= 255: " + s);
        u8(b.length);
        return bytes(b);
    }

    /** Writes the bytes of {@code seg} (guest RAM); see the class comment for the copy rules. */
    public StreamWriter segment(MemorySegment seg) {
        long len = seg.byteSize();
        if (len <= buf.remaining()) {
            MemorySegment.copy(seg, 0, bufSeg, buf.position(), len);
            buf.position(buf.position() + (int) len);
            return this;
        }
        flush();
        if (len < BUFFER_BYTES) {
            MemorySegment.copy(seg, 0, bufSeg, 0, len);
            buf.position((int) len);
            return this;
        }
        writeFully(seg.asByteBuffer());
        return this;
    }

    /**
     * A page of guest RAM: queued without a copy when the channel gathers (see the class comment), else as
     * {@link #segment}. Only for memory that stays mapped until the next flush; scratch buffers that are
     * reused for the next page must go through {@link #segment}.
     */
    public StreamWriter guestPage(MemorySegment page) {
        if (iov == null || !page.isNative()) return segment(page);
        if (buf.position() > bufMark) {
            iov[iovCount++] = buf.slice(bufMark, buf.position() - bufMark);
            bufMark = buf.position();
        }
        iov[iovCount++] = page.asByteBuffer();
        queuedBytes += page.byteSize();
        if (iovCount >= MAX_IOV || queuedBytes >= MAX_QUEUED_BYTES) flush();
        return this;
    }

    /** Writes out everything buffered and queued. */
    public void flush() {
        if (iovCount > 0) {
            flushGathered();
            return;
        }
        buf.flip();
        try {
            writeFully(buf);
        } finally {
            buf.clear();
        }
    }

    @Override
    public void close() {
        flush();
    }

    private void flushGathered() {
        if (buf.position() > bufMark) iov[iovCount++] = buf.slice(bufMark, buf.position() - bufMark);
        long total = queuedBytes + buf.position();
        GatheringByteChannel g = (GatheringByteChannel) channel;
        try {
            int first = 0;
            while (first < iovCount) {
                g.write(iov, first, iovCount - first);
                while (first < iovCount && !iov[first].hasRemaining()) first++;
            }
            flushed += total;
        } catch (IOException e) {
            throw new UncheckedIOException("writing at stream offset " + flushed, e);
        } finally {
            java.util.Arrays.fill(iov, 0, iovCount, null);
            iovCount = 0;
            bufMark = 0;
            queuedBytes = 0;
            buf.clear();
        }
    }

    private void writeFully(ByteBuffer b) {
        try {
            while (b.hasRemaining()) {
                flushed += channel.write(b);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing at stream offset " + flushed, e);
        }
    }

    private void room(int n) {
        if (buf.remaining() < n) flush();
    }
}
