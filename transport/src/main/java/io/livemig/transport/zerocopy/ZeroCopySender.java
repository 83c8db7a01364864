package io.livemig.transport.zerocopy;

import io.livemig.sys.Errno;
import io.livemig.sys.IoVec;
import io.livemig.sys.LibC;
import io.livemig.sys.abi.ErrnoH;
import io.livemig.sys.abi.PollH;
import io.livemig.sys.abi.SocketH;
import io.livemig.transport.ByteChannelViews;
import io.livemig.transport.MigrationChannel;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A TCP {@link MigrationChannel} on a LibC socket with {@code SO_ZEROCOPY}: {@link #writeZeroCopy} sends
 * straight from guest RAM with {@code sendmsg(MSG_ZEROCOPY)}, the kernel pinning the pages instead of
 * copying them; {@link #write} is an ordinary copying {@code sendmsg} (for headers, whose buffer is reused
 * at once, exactly as QEMU 7.2 sends multifd headers without the flag).
 *
 * <p>A zero-copy send is finished only when its completion arrives on the socket's error queue
 * ({@code recvmsg(MSG_ERRQUEUE)}: a {@code sock_extended_err} with {@code ee_origin == SO_EE_ORIGIN_ZEROCOPY}
 * covering send numbers {@code ee_info..ee_data}). Until then the kernel may still read the pages, so a page
 * must not be modified-and-resent before {@link #flushCompletions(Duration)} returned: the multifd sender
 * calls it at every dirty sync (QEMU's {@code qio_channel_flush} on the SYNC packet). If
 * {@code ee_code & SO_EE_CODE_ZEROCOPY_COPIED}, the kernel fell back to copying (always the case on
 * loopback, where the receiver would otherwise read pinned sender pages): counted in
 * {@link #copiedCompletions()} and reported by {@code flushCompletions} (QEMU's
 * {@code dirty-sync-missed-zero-copy}).
 *
 * <p>Threads: one thread writes (and flushes) at a time and one thread reads; {@link #shutdown()} from any
 * thread wakes both (shutdown(2) on the socket). The counters are written by the writing thread only and
 * read by others with volatile (acquire) semantics.
 */
public final class ZeroCopySender implements MigrationChannel {
    /** Room for a few error-queue control messages per recvmsg. */
    private static final int CONTROL_BYTES = 256;
    private static final int MAX_IOV = 64;

    private final int fd;
    private final String description;
    private final boolean ipv6;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment iov = IoVec.allocate(arena, MAX_IOV);
    private final MemorySegment msghdr = arena.allocate(SocketH.msghdr.SIZE, 8);
    private final MemorySegment errMsghdr = arena.allocate(SocketH.msghdr.SIZE, 8);
    private final MemorySegment control = arena.allocate(CONTROL_BYTES, 8);
    private final MemorySegment pollfd = arena.allocate(PollH.pollfd.SIZE, 8);
    private final MemorySegment readScratch = arena.allocate(1 << 16, 8);
    private final AtomicBoolean shutdown = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    private volatile long zeroCopySends;
    private volatile long completedSends;
    private volatile long copiedCompletions;
    private volatile long bytesWritten;
    private volatile long bytesRead;
    /** Copied completions already reported by a flush. */
    private long copiedReported;

    private ZeroCopySender(int fd, String description, boolean ipv6) throws IOException {
        this.fd = fd;
        this.description = description;
        this.ipv6 = ipv6;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocateFrom(JAVA_INT, 1);
            try {
                LibC.setsockopt(fd, SocketH.SOL_SOCKET, SocketH.SO_ZEROCOPY, one, "SO_ZEROCOPY=1");
            } catch (RuntimeException e) {
                closeQuietly();
                throw new IOException(description + ": the kernel refused SO_ZEROCOPY (zero-copy-send needs "
                        + "Linux >= 4.14 and a TCP socket): " + e.getMessage(), e);
            }
            LibC.setsockopt(fd, SocketH.IPPROTO_TCP, SocketH.TCP_NODELAY, one, "TCP_NODELAY=1");
        }
    }

    /** Connects a new IPv4 TCP socket to {@code address} and enables SO_ZEROCOPY on it. */
    public static ZeroCopySender connectTcp(InetSocketAddress address) throws IOException {
        if (address.isUnresolved() || !(address.getAddress() instanceof Inet4Address v4)) {
            throw new IOException("Failed to connect to '" + address + "': zero-copy-send supports IPv4 tcp: only");
        }
        int fd = LibC.socket(SocketH.AF_INET, SocketH.SOCK_STREAM | SocketH.SOCK_CLOEXEC, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(SocketH.sockaddr_in.SIZE, 4);
            sa.set(ValueLayout.JAVA_SHORT, SocketH.sockaddr_in.sin_family, (short) SocketH.AF_INET);
            sa.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), SocketH.sockaddr_in.sin_port,
                    (short) address.getPort());
            MemorySegment.copy(MemorySegment.ofArray(v4.getAddress()), 0, sa, SocketH.sockaddr_in.sin_addr, 4);
            int r;
            do {
                r = LibC.connectOrErrno(fd, sa);
            } while (r == -ErrnoH.EINTR);
            if (r < 0) {
                LibC.close(fd);
                throw new IOException("Failed to connect to '" + v4.getHostAddress() + ":" + address.getPort()
                        + "': " + Errno.describe(-r));
            }
        }
        return new ZeroCopySender(fd, "tcp:" + v4.getHostAddress() + ":" + address.getPort() + " (zero-copy)",
                false);
    }

    /** Takes ownership of a connected TCP socket {@code fd} and enables SO_ZEROCOPY on it. */
    public static ZeroCopySender adopt(int fd, String description, boolean ipv6) throws IOException {
        return new ZeroCopySender(fd, description, ipv6);
    }

    @Override
    public String description() {
        return description;
    }

    /** The socket fd (owned by this channel). */
    public int fd() {
        return fd;
    }

    // ---- writes ------------------------------------------------------------------------------------

    /** A copying gathering write (sendmsg without MSG_ZEROCOPY): the buffers may be reused on return. */
    @Override
    public void write(MemorySegment... srcs) throws IOException {
        send(srcs, 0);
    }

    /**
     * A zero-copy gathering write (sendmsg with MSG_ZEROCOPY) of native segments (guest RAM): on return
     * the kernel may still read them until {@link #flushCompletions(Duration)}.
     */
    public void writeZeroCopy(MemorySegment... srcs) throws IOException {
        send(srcs, SocketH.MSG_ZEROCOPY);
        reapCompletions(); // keep the error queue short; never blocks
    }

    private void send(MemorySegment[] srcs, int zeroCopyFlag) throws IOException {
        checkOpen();
        int i = 0;
        while (i < srcs.length) {
            int n = 0;
            long total = 0;
            while (i + n < srcs.length && n < MAX_IOV) {
                MemorySegment s = srcs[i + n];
                if (!s.isNative()) throw new IllegalArgumentException("zero-copy channel writes native segments only");
                IoVec.set(iov, n, s);
                total += s.byteSize();
                n++;
            }
            sendAll(n, total, zeroCopyFlag);
            i += n;
        }
    }

    private void sendAll(int iovcnt, long total, int zeroCopyFlag) throws IOException {
        int first = 0;
        long left = total;
        while (left > 0) {
            msghdr.fill((byte) 0);
            msghdr.set(JAVA_LONG, SocketH.msghdr.msg_iov, iov.address() + first * IoVec.BYTES);
            msghdr.set(JAVA_LONG, SocketH.msghdr.msg_iovlen, iovcnt - first);
            long r = LibC.sendmsgOrErrno(fd, msghdr, zeroCopyFlag | SocketH.MSG_NOSIGNAL);
            if (r < 0) {
                int errno = (int) -r;
                if (errno == ErrnoH.EINTR || errno == ErrnoH.EAGAIN) continue;
                checkOpen();
                if (errno == ErrnoH.ENOBUFS && zeroCopyFlag != 0) {
                    throw new IOException(description + ": sendmsg(MSG_ZEROCOPY) failed: " + Errno.describe(errno)
                            + ": the process can't lock enough memory for MSG_ZEROCOPY (pinned pages count "
                            + "against RLIMIT_MEMLOCK, " + MemoryLockCheck.currentLimitText() + ")");
                }
                throw new IOException(description + ": sendmsg(" + (zeroCopyFlag != 0 ? "MSG_ZEROCOPY, " : "")
                        + left + " bytes) failed: " + Errno.describe(errno));
            }
            if (zeroCopyFlag != 0) zeroCopySends = zeroCopySends + 1;
            bytesWritten = bytesWritten + r;
            left -= r;
            long skip = r;
            while (skip > 0 && first < iovcnt) {
                long len = IoVec.length(iov, first);
                if (skip >= len) {
                    skip -= len;
                    first++;
                } else {
                    IoVec.advance(iov, first, skip);
                    skip = 0;
                }
            }
        }
    }

    // ---- completions -------------------------------------------------------------------------------

    /**
     * Blocks until every zero-copy send so far has completed (so the pages may change and be resent),
     * waiting at most {@code timeout}.
     *
     * @return 1 if some completion since the previous flush said the kernel copied the data (QEMU's
     *         {@code qio_channel_flush} result that counts {@code dirty-sync-missed-zero-copy}), else 0
     * @throws IOException when the completions do not arrive in time or the error queue reports an error
     */
    public int flushCompletions(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        reapCompletions();
        while (completedSends < zeroCopySends) {
            checkOpen();
            long leftMs = (deadline - System.nanoTime()) / 1_000_000;
            if (leftMs <= 0) {
                throw new IOException(description + ": " + (zeroCopySends - completedSends) + " of " + zeroCopySends
                        + " MSG_ZEROCOPY sends still not completed after " + timeout.toMillis() + " ms");
            }
            pollfd.set(JAVA_INT, PollH.pollfd.fd, fd);
            pollfd.set(ValueLayout.JAVA_SHORT, PollH.pollfd.events, (short) 0); // POLLERR is always reported
            pollfd.set(ValueLayout.JAVA_SHORT, PollH.pollfd.revents, (short) 0);
            LibC.poll(pollfd, 1, (int) Math.min(leftMs, 100));
            reapCompletions();
        }
        int copied = copiedCompletions > copiedReported ? 1 : 0;
        copiedReported = copiedCompletions;
        return copied;
    }

    /** Drains the error queue without blocking; returns how many sends it completed. */
    public long reapCompletions() throws IOException {
        long done = 0;
        while (true) {
            errMsghdr.fill((byte) 0);
            errMsghdr.set(JAVA_LONG, SocketH.msghdr.msg_control, control.address());
            errMsghdr.set(JAVA_LONG, SocketH.msghdr.msg_controllen, control.byteSize());
            long r = LibC.recvmsgOrErrno(fd, errMsghdr, SocketH.MSG_ERRQUEUE | SocketH.MSG_DONTWAIT);
            if (r < 0) {
                int errno = (int) -r;
                if (errno == ErrnoH.EAGAIN) return done;
                if (errno == ErrnoH.EINTR) continue;
                checkOpen();
                throw new IOException(description + ": recvmsg(MSG_ERRQUEUE) failed: " + Errno.describe(errno));
            }
            done += parseControl(errMsghdr.get(JAVA_LONG, SocketH.msghdr.msg_controllen));
        }
    }

    /** Walks the cmsgs of one error-queue message; returns the sends completed. */
    private long parseControl(long controlLen) throws IOException {
        long done = 0;
        long off = 0;
        int level = ipv6 ? SocketH.SOL_IPV6 : SocketH.SOL_IP;
        int type = ipv6 ? SocketH.IPV6_RECVERR : SocketH.IP_RECVERR;
        while (off + SocketH.cmsghdr.SIZE <= controlLen) {
            long len = control.get(JAVA_LONG, off + SocketH.cmsghdr.cmsg_len);
            if (len < SocketH.cmsghdr.SIZE || off + len > controlLen) break;
            int cLevel = control.get(JAVA_INT, off + SocketH.cmsghdr.cmsg_level);
            int cType = control.get(JAVA_INT, off + SocketH.cmsghdr.cmsg_type);
            if (cLevel == level && cType == type && len >= SocketH.cmsghdr.SIZE + SocketH.sock_extended_err.SIZE) {
                MemorySegment ee = control.asSlice(off + SocketH.cmsghdr.SIZE, SocketH.sock_extended_err.SIZE);
                int eeErrno = ee.get(JAVA_INT, SocketH.sock_extended_err.ee_errno);
                int origin = Byte.toUnsignedInt(ee.get(JAVA_BYTE, SocketH.sock_extended_err.ee_origin));
                int code = Byte.toUnsignedInt(ee.get(JAVA_BYTE, SocketH.sock_extended_err.ee_code));
                if (origin != SocketH.SO_EE_ORIGIN_ZEROCOPY || eeErrno != 0) {
                    throw new IOException(description + ": unexpected error-queue record: ee_origin=" + origin
                            + ", ee_errno=" + eeErrno + " (" + (eeErrno != 0 ? Errno.describe(eeErrno) : "")
                            + "), expected a zero-copy completion (ee_origin=" + SocketH.SO_EE_ORIGIN_ZEROCOPY + ")");
                }
                long lo = Integer.toUnsignedLong(ee.get(JAVA_INT, SocketH.sock_extended_err.ee_info));
                long hi = Integer.toUnsignedLong(ee.get(JAVA_INT, SocketH.sock_extended_err.ee_data));
                long n = ((hi - lo) & 0xFFFFFFFFL) + 1;
                done += n;
                completedSends = completedSends + n;
                if ((code & SocketH.SO_EE_CODE_ZEROCOPY_COPIED) != 0) copiedCompletions = copiedCompletions + n;
            }
            off += (len + 7) & ~7L;
        }
        return done;
    }

    /** sendmsg(MSG_ZEROCOPY) calls that returned data sent (each takes one completion number). */
    public long zeroCopySends() {
        return zeroCopySends;
    }

    /** Zero-copy sends whose completion has been reaped. */
    public long completedSends() {
        return completedSends;
    }

    /** Completed zero-copy sends the kernel reported as copied (SO_EE_CODE_ZEROCOPY_COPIED). */
    public long copiedCompletions() {
        return copiedCompletions;
    }

    // ---- reads and the rest of MigrationChannel ------------------------------------------------------

    @Override
    public int read(MemorySegment dst) throws IOException {
        checkOpen();
        if (dst.byteSize() == 0) return 0;
        MemorySegment target = dst.isNative() ? dst : readScratch.asSlice(0, Math.min(dst.byteSize(), readScratch.byteSize()));
        long count = Math.min(target.byteSize(), Integer.MAX_VALUE);
        while (true) {
            long r = LibC.readOrErrno(fd, target, count);
            if (r == -ErrnoH.EINTR) continue;
            checkOpen();
            if (r < 0) throw new IOException(description + ": read failed: " + Errno.describe((int) -r));
            if (r == 0) return -1;
            if (target != dst) MemorySegment.copy(target, 0, dst, 0, r);
            bytesRead = bytesRead + r;
            return (int) r;
        }
    }

    @Override
    public ReadableByteChannel readable() {
        return ByteChannelViews.readable(this, () -> !closed.get());
    }

    @Override
    public WritableByteChannel writable() {
        return ByteChannelViews.writable(this, () -> !closed.get());
    }

    @Override
    public void shutdownOutput() throws IOException {
        int r = LibC.shutdownOrErrno(fd, SocketH.SHUT_WR);
        if (r < 0 && r != -ErrnoH.ENOTCONN) {
            throw new IOException(description + ": shutdown(SHUT_WR) failed: " + Errno.describe(-r));
        }
    }

    @Override
    public void shutdown() {
        if (shutdown.compareAndSet(false, true) && !closed.get()) {
            LibC.shutdownOrErrno(fd, SocketH.SHUT_RDWR);
        }
    }

    @Override
    public boolean isShutdown() {
        return shutdown.get();
    }

    @Override
    public long bytesRead() {
        return bytesRead;
    }

    @Override
    public long bytesWritten() {
        return bytesWritten;
    }

    @Override
    public void close() throws IOException {
        closeQuietly();
    }

    private void closeQuietly() {
        if (closed.compareAndSet(false, true)) {
            LibC.close(fd);
            arena.close();
        }
    }

    private void checkOpen() throws IOException {
        if (closed.get()) throw new ClosedChannelException();
        if (shutdown.get()) throw new EOFException(description + ": channel was shut down (migration cancelled)");
    }

    @Override
    public String toString() {
        return description;
    }
}
