package io.livemig.transport;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * One open migration byte stream (a connected socket, a child's pipe, an inherited fd, a file).
 *
 * <p>All I/O is blocking and moves bytes between the kernel and {@link MemorySegment}s: a native segment
 * (guest RAM, an off-heap header buffer) goes to the kernel without passing through the Java heap.
 * {@link #write(MemorySegment...)} is a gathering write: a record header and the page it describes
 * leave in one system call where the transport allows it.
 *
 * <p>Threads: one thread reads and one thread writes at a time. {@link #shutdown()} may be called from
 * any thread and makes a read or write blocked in another thread fail promptly (migrate_cancel).
 */
public interface MigrationChannel extends AutoCloseable {

    /** The endpoint in QEMU's URI spelling plus what it is connected to, for messages. */
    String description();

    /**
     * Reads at least one byte into {@code dst}, at most {@code dst.byteSize()}.
     *
     * @return bytes read, or -1 at end of stream
     */
    int read(MemorySegment dst) throws IOException;

    /** Fills {@code dst} completely; {@link EOFException} naming the channel if the stream ends first. */
    default void readFully(MemorySegment dst) throws IOException {
        long done = 0;
        long size = dst.byteSize();
        while (done < size) {
            int n = read(dst.asSlice(done));
            if (n < 0) {
                throw new EOFException(description() + ": end of stream after " + done + " of " + size
                        + " bytes of a read");
            }
            done += n;
        }
    }

    /** Writes every byte of every segment, in order; as one gathering write where the transport has one. */
    void write(MemorySegment... srcs) throws IOException;

    /**
     * Writes every remaining byte of {@code srcs[offset, offset + length)} in order and advances their
     * positions: the stream writer's batch of record headers and guest pages (direct buffers). Transports
     * on java.nio hand the array to {@code GatheringByteChannel.write} as it is; the default converts.
     */
    default void write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        MemorySegment[] segs = new MemorySegment[length];
        for (int i = 0; i < length; i++) segs[i] = MemorySegment.ofBuffer(srcs[offset + i]);
        write(segs);
        for (int i = 0; i < length; i++) srcs[offset + i].position(srcs[offset + i].limit());
    }

    /** The stream as a {@link ReadableByteChannel} (for code that speaks java.nio); closing it closes this. */
    ReadableByteChannel readable();

    /** The stream as a {@link WritableByteChannel}; {@code write} always writes the whole buffer. */
    WritableByteChannel writable();

    /** Ends the write direction so the peer sees end-of-stream, keeping the read direction open. */
    void shutdownOutput() throws IOException;

    /**
     * Unblocks and fails any read or write in progress in another thread, and every later one.
     * Idempotent; never throws. {@link #close()} must still be called.
     */
    void shutdown();

    /** Whether {@link #shutdown()} was called. */
    boolean isShutdown();

    /** Bytes read so far. */
    long bytesRead();

    /** Bytes written so far. */
    long bytesWritten();

    /**
     * Releases the endpoint. For {@code exec:} this reaps the child and fails if it exited non-zero
     * (unless the channel was {@link #shutdown()}).
     */
    @Override
    void close() throws IOException;
}
