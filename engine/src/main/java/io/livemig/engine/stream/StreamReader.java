package io.livemig.engine.stream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * Big-endian reader over a byte channel with a position counter, so every error can name the byte
 * offset of the field that is wrong. Reads through one direct buffer; bulk payloads
 * ({@link #readFully(MemorySegment, String)}) go from that buffer or straight from the channel into the
 * destination segment (guest RAM), never through the Java heap.
 *
 * <p>A truncated stream raises {@link StreamFormatException} with value {@code "end of stream"}; channel
 * failures raise {@link UncheckedIOException}. Not thread-safe: one reader per channel and thread.
 */
public final class StreamReader {
    /** Largest single primitive read; the buffer is much larger. */
    private static final int BUFFER_BYTES = 256 * 1024;
    /** Payloads at least this large skip the buffer (multifd packets, big vmstate blobs). */
    private static final long DIRECT_READ_BYTES = 64 * 1024;

    private final ReadableByteChannel channel;
    private final ByteBuffer buf;
    private final MemorySegment bufSeg;
    private long position;
    private boolean eof;

    public StreamReader(ReadableByteChannel channel) {
        this.channel = channel;
        this.buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.BIG_ENDIAN);
        this.bufSeg = MemorySegment.ofBuffer(buf);
        buf.limit(0);
    }

    /** Convenience for tests and the analyzer: a reader over an in-memory stream. */
    public static StreamReader of(byte[] bytes) {
        return new StreamReader(new ByteArrayChannel(bytes));
    }

    /** Bytes consumed so far: the stream offset of the next byte. */
    public long position() {
        return position;
    }

    public int u8(String field) {
        ensure(1, field);
        position += 1;
        return buf.get() & 0xFF;
    }

    public int be16(String field) {
        ensure(2, field);
        position += 2;
        return buf.getShort() & 0xFFFF;
    }

    public int be32(String field) {
        ensure(4, field);
        position += 4;
        return buf.getInt();
    }

    /** A be32 as an unsigned value. */
    public long be32u(String field) {
        return be32(field) & 0xFFFFFFFFL;
    }

    public long be64(String field) {
        ensure(8, field);
        position += 8;
        return buf.getLong();
    }

    /** The next byte without consuming it, or -1 at the end of the stream. */
    public int peekU8() {
        if (!tryFill(1)) return -1;
        return buf.get(buf.position()) & 0xFF;
    }

    /** The byte {@code ahead} positions after the next one without consuming anything, or -1. */
    public int peekU8(int ahead) {
        if (ahead < 0 || ahead >= BUFFER_BYTES) throw new IllegalArgumentException("ahead=" + ahead);
        if (!tryFill(ahead + 1)) return -1;
        return buf.get(buf.position() + ahead) & 0xFF;
    }

    /** Whether the stream has no more bytes. */
    public boolean atEnd() {
        return !tryFill(1);
    }

    /**
     * {@code length} bytes into a new array. Callers bound {@code length} before calling (this is for
     * names, compressed pages and the JSON trailer, never for page payloads).
     */
    public byte[] bytes(int length, String field) {
        if (length < 0) throw new IllegalArgumentException("length=" + length);
        byte[] out = new byte[length];
        int done = 0;
        while (done < length) {
            int n = Math.min(length - done, BUFFER_BYTES);
            ensure(n, field);
            buf.get(out, done, n);
            position += n;
            done += n;
        }
        return out;
    }

    /** Reads exactly {@code length} bytes into {@code dst[off, off + length)} (bounded by the caller). */
    public void bytes(byte[] dst, int off, int length, String field) {
        int done = 0;
        while (done < length) {
            int n = Math.min(length - done, BUFFER_BYTES);
            ensure(n, field);
            buf.get(dst, off + done, n);
            position += n;
            done += n;
        }
    }

    /** A {@code u8 length + bytes} string; {@code allowEmpty=false} rejects length 0 (id strings). */
    public String countedString(String field, boolean allowEmpty) {
        long at = position;
        int len = u8(field + ".length");
        if (len == 0 && !allowEmpty) {
            throw new StreamFormatException(field + ".length", 0, "1..255 (an id string is never empty)", at);
        }
        return new String(bytes(len, field), StandardCharsets.ISO_8859_1);
    }

    /**
     * Reads exactly {@code dst.byteSize()} bytes into {@code dst}, off-heap to off-heap. Small payloads (a
     * 4 KiB page) are served from the buffer, which is refilled with one large read, as QEMUFile does:
     * reading each page straight from the socket would cost two syscalls per page (the page, then the next
     * record header), and syscalls are the expensive part here (a 4 KiB memcpy is ~0.3 us, a syscall under
     * nested virtualisation several us). Payloads of {@link #DIRECT_READ_BYTES} or more left after the
     * buffered bytes are read from the channel directly into {@code dst}.
     */
    public void readFully(MemorySegment dst, String field) {
        long len = dst.byteSize();
        long done = 0;
        while (done < len) {
            int buffered = buf.remaining();
            if (buffered > 0) {
                int n = (int) Math.min(buffered, len - done);
                MemorySegment.copy(bufSeg, buf.position(), dst, done, n);
                buf.position(buf.position() + n);
                position += n;
                done += n;
            } else if (len - done >= DIRECT_READ_BYTES) {
                done += readDirect(dst.asSlice(done), field, len - done);
            } else {
                ensure(1, field);
            }
        }
    }

    /** Reads all of {@code dst} from the channel, bypassing the (empty) buffer; returns its size. */
    private long readDirect(MemorySegment dst, String field, long expected) {
        long done = 0;
        try {
            while (done < dst.byteSize()) {
                ByteBuffer direct = dst.asSlice(done, Math.min(dst.byteSize() - done, 1L << 30)).asByteBuffer();
                while (direct.hasRemaining()) {
                    int r = eof ? -1 : channel.read(direct);
                    if (r < 0) {
                        eof = true;
                        throw new StreamFormatException(field, "end of stream",
                                (expected - done - direct.position()) + " more byte(s)", position);
                    }
                    position += r;
                }
                done += direct.capacity();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + field + " at stream offset " + position, e);
        }
        return done;
    }

    /** Skips {@code length} bytes. */
    public void skip(long length, String field) {
        long left = length;
        while (left > 0) {
            int n = (int) Math.min(left, BUFFER_BYTES);
            ensure(n, field);
            buf.position(buf.position() + n);
            position += n;
            left -= n;
        }
    }

    private void ensure(int n, String field) {
        if (!tryFill(n)) {
            throw new StreamFormatException(field, "end of stream", (n - buf.remaining()) + " more byte(s)",
                    position + buf.remaining());
        }
    }

    private boolean tryFill(int n) {
        if (buf.remaining() >= n) return true;
        if (eof) return false;
        buf.compact();
        try {
            while (buf.position() < n) {
                int r = channel.read(buf);
                if (r < 0) {
                    eof = true;
                    break;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading at stream offset " + position, e);
        } finally {
            buf.flip();
        }
        return buf.remaining() >= n;
    }
}
