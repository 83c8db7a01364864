package io.livemig.transport;

import io.livemig.sys.IoVec;
import io.livemig.sys.LibC;
import io.livemig.sys.SyscallException;
import io.livemig.sys.abi.ErrnoH;
import io.livemig.sys.abi.SocketH;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * {@code fd:N}: a file descriptor this process inherited (a socket or pipe set up by whoever started us).
 * Reads and gathering writes are LibC {@code read}/{@code writev} straight on guest-RAM segments. The
 * channel owns the fd from here on and closes it once.
 */
class FdMigrationChannel extends AbstractMigrationChannel {
    private final int fd;
    private final java.util.concurrent.atomic.AtomicBoolean fdClosed = new java.util.concurrent.atomic.AtomicBoolean();

    FdMigrationChannel(int fd) {
        this("fd:" + fd, fd);
    }

    /** A channel over {@code fd} (owned from now on) described as {@code description}. */
    FdMigrationChannel(String description, int fd) {
        super(description);
        this.fd = fd;
    }

    final int fd() {
        return fd;
    }

    @Override
    public int read(MemorySegment dst) throws IOException {
        return readFd(dst);
    }

    final int readFd(MemorySegment dst) throws IOException {
        checkOpen();
        if (dst.byteSize() == 0) return 0;
        if (!dst.isNative()) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment tmp = arena.allocate(Math.min(dst.byteSize(), 1 << 20));
                int n = readFd(tmp);
                if (n > 0) MemorySegment.copy(tmp, 0, dst, 0, n);
                return n;
            }
        }
        long count = Math.min(dst.byteSize(), MAX_BUFFER_BYTES);
        while (true) {
            long r = LibC.readOrErrno(fd, dst, count);
            if (r >= 0) {
                checkOpen();
                if (r == 0) return -1;
                countRead(r);
                return (int) r;
            }
            if (-r == ErrnoH.EINTR) continue;
            throw afterShutdown(new IOException(new SyscallException("read(" + description() + ", count=" + count + ")",
                    (int) -r).getMessage()));
        }
    }

    @Override
    public void write(MemorySegment... srcs) throws IOException {
        writeFd(srcs);
    }

    final void writeFd(MemorySegment... srcs) throws IOException {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] nat = new MemorySegment[srcs.length];
            long total = 0;
            for (int i = 0; i < srcs.length; i++) {
                nat[i] = srcs[i].isNative() ? srcs[i] : arena.allocate(srcs[i].byteSize()).copyFrom(srcs[i]);
                total += srcs[i].byteSize();
            }
            MemorySegment iov = IoVec.allocate(arena, Math.max(1, nat.length));
            for (int i = 0; i < nat.length; i++) IoVec.set(iov, i, nat[i]);
            int first = 0;
            long left = total;
            while (left > 0) {
                while (IoVec.length(iov, first) == 0) first++;
                long r = LibC.writevOrErrno(fd, iov.asSlice(first * IoVec.BYTES), Math.min(1024, nat.length - first));
                if (r < 0) {
                    if (-r == ErrnoH.EINTR) continue;
                    throw afterShutdown(new IOException(new SyscallException("writev(" + description() + ")",
                            (int) -r).getMessage()));
                }
                left -= r;
                countWritten(r);
                for (int i = first; r > 0; i++) {
                    long len = IoVec.length(iov, i);
                    long step = Math.min(len, r);
                    IoVec.advance(iov, i, step);
                    r -= step;
                }
            }
        }
    }

    @Override
    public void shutdownOutput() throws IOException {
        LibC.shutdownOrErrno(fd, SocketH.SHUT_WR);
    }

    @Override
    void doShutdown() {
        // Wakes a reader blocked on a socket; for a pipe there is no such call, so cancel waits for the peer.
        LibC.shutdownOrErrno(fd, SocketH.SHUT_RDWR);
    }

    @Override
    void doClose() throws IOException {
        closeFdOnce();
    }

    /** Closes the fd unless that was done already (exec closes its pipe early to signal end of stream). */
    final void closeFdOnce() throws IOException {
        if (!fdClosed.compareAndSet(false, true)) return;
        try {
            LibC.close(fd);
        } catch (SyscallException e) {
            throw new IOException(e.getMessage(), e);
        }
    }
}
