package io.livemig.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.atomic.AtomicBoolean;

/** Byte counters, the shutdown flag and the java.nio views shared by every {@link MigrationChannel}. */
abstract class AbstractMigrationChannel implements MigrationChannel {
    /** Largest slice handed to one java.nio buffer (ByteBuffer positions are ints). */
    static final long MAX_BUFFER_BYTES = 1L << 30;

    private final String description;
    /** Set once by {@link #shutdown()} from any thread; read by the I/O threads. */
    private final AtomicBoolean shutdown = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Written only by the reading thread; read by anyone (statistics). */
    private volatile long bytesRead;
    /** Written only by the writing thread; read by anyone (statistics). */
    private volatile long bytesWritten;

    AbstractMigrationChannel(String description) {
        this.description = description;
    }

    @Override
    public final String description() {
        return description;
    }

    @Override
    public final long bytesRead() {
        return bytesRead;
    }

    @Override
    public final long bytesWritten() {
        return bytesWritten;
    }

    final void countRead(long n) {
        bytesRead += n;
    }

    final void countWritten(long n) {
        bytesWritten += n;
    }

    @Override
    public final boolean isShutdown() {
        return shutdown.get();
    }

    @Override
    public final void shutdown() {
        if (shutdown.compareAndSet(false, true)) {
            try {
                doShutdown();
            } catch (IOException | RuntimeException e) {
                // Best effort: shutdown must never throw; the blocked thread sees its own error.
            }
        }
    }

    /** Makes blocked I/O in other threads fail; called at most once. */
    abstract void doShutdown() throws IOException;

    @Override
    public final void close() throws IOException {
        if (closed.compareAndSet(false, true)) {
            doClose();
        }
    }

    abstract void doClose() throws IOException;

    final void checkOpen() throws IOException {
        if (shutdown.get()) throw new ClosedChannelException() {
            @Override
            public String getMessage() {
                return description + ": channel was shut down (migration cancelled)";
            }
        };
    }

    /** An I/O error from a thread whose channel was shut down, said so. */
    final IOException afterShutdown(IOException cause) {
        if (!shutdown.get()) return cause;
        IOException e = new IOException(description + ": channel was shut down (migration cancelled)");
        e.addSuppressed(cause);
        return e;
    }

    @Override
    public final ReadableByteChannel readable() {
        return ByteChannelViews.readable(this, () -> !closed.get());
    }

    @Override
    public final WritableByteChannel writable() {
        return ByteChannelViews.writable(this, () -> !closed.get());
    }

    @Override
    public String toString() {
        return description;
    }
}
