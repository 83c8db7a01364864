package io.livemig.transport;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link MigrationChannel} over java.nio channels: {@link SocketChannel} (tcp, unix), FileChannel
 * (file), or a child's pipes (exec).
 *
 * <p>Why java.nio rather than LibC sockets: a native {@link MemorySegment} viewed as a direct
 * ByteBuffer ({@code asByteBuffer()}) goes to {@code writev}/{@code read} without a heap copy, gathering
 * writes are {@link GatheringByteChannel#write(ByteBuffer[])} (one writev), and closing a blocking
 * SocketChannel from another thread reliably wakes a blocked reader (AsynchronousCloseException),
 * which is exactly the cancel semantics we need. TCP_NODELAY/keepalive are plain socket options.
 * The one copy left is for exec:, whose pipes the JDK only exposes as streams.
 */
class NioMigrationChannel extends AbstractMigrationChannel {
    private final ReadableByteChannel in;
    private final WritableByteChannel out;
    private final AutoCloseable owner;

    /**
     * @param in    where reads come from, or null for a write-only endpoint
     * @param out   where writes go, or null for a read-only endpoint
     * @param owner what {@link #close()} closes (the socket), or null to close {@code in} and {@code out}
     */
    NioMigrationChannel(String description, ReadableByteChannel in, WritableByteChannel out, AutoCloseable owner) {
        super(description);
        this.in = in;
        this.out = out;
        this.owner = owner;
    }

    @Override
    public int read(MemorySegment dst) throws IOException {
        checkOpen();
        if (in == null) throw new IOException(description() + ": this endpoint is write-only");
        if (dst.byteSize() == 0) return 0;
        ByteBuffer buf = dst.asSlice(0, Math.min(dst.byteSize(), MAX_BUFFER_BYTES)).asByteBuffer();
        try {
            int n;
            do {
                n = in.read(buf);
            } while (n == 0);
            if (n > 0) countRead(n);
            return n;
        } catch (AsynchronousCloseException e) {
            throw afterShutdown(e);
        } catch (IOException e) {
            throw afterShutdown(new IOException(description() + ": read failed: " + e.getMessage(), e));
        }
    }

    @Override
    public void write(MemorySegment... srcs) throws IOException {
        List<ByteBuffer> list = new ArrayList<>(srcs.length);
        for (MemorySegment s : srcs) {
            for (long off = 0; off < s.byteSize(); off += MAX_BUFFER_BYTES) {
                list.add(s.asSlice(off, Math.min(MAX_BUFFER_BYTES, s.byteSize() - off)).asByteBuffer());
            }
        }
        ByteBuffer[] bufs = list.toArray(new ByteBuffer[0]);
        write(bufs, 0, bufs.length);
    }

    /** The buffers go to {@code writev} as they are (no per-buffer conversion on the page path). */
    @Override
    public void write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        checkOpen();
        if (out == null) throw new IOException(description() + ": this endpoint is read-only");
        long total = 0;
        for (int i = offset; i < offset + length; i++) total += srcs[i].remaining();
        int end = offset + length;
        try {
            if (out instanceof GatheringByteChannel g) {
                int first = offset;
                while (first < end) {
                    g.write(srcs, first, end - first);
                    while (first < end && !srcs[first].hasRemaining()) first++;
                }
            } else {
                for (int i = offset; i < end; i++) {
                    while (srcs[i].hasRemaining()) out.write(srcs[i]);
                }
            }
        } catch (AsynchronousCloseException e) {
            throw afterShutdown(e);
        } catch (IOException e) {
            throw afterShutdown(new IOException(description() + ": write failed: " + e.getMessage(), e));
        }
        countWritten(total);
    }

    @Override
    public void shutdownOutput() throws IOException {
        if (owner instanceof SocketChannel sc) {
            sc.shutdownOutput();
        } else if (out != null && out != in) {
            out.close();
        }
    }

    @Override
    void doShutdown() throws IOException {
        // Closing a blocking java.nio channel wakes threads blocked in it with AsynchronousCloseException.
        closeAll();
    }

    @Override
    void doClose() throws IOException {
        closeAll();
    }

    private void closeAll() throws IOException {
        IOException first = null;
        for (AutoCloseable c : owner != null ? new AutoCloseable[] {owner} : new AutoCloseable[] {in, out}) {
            if (c == null) continue;
            try {
                c.close();
            } catch (IOException e) {
                if (first == null) first = e;
            } catch (Exception e) {
                if (first == null) first = new IOException(e);
            }
        }
        if (first != null) throw first;
    }
}
