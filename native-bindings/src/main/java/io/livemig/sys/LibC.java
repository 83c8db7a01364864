package io.livemig.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Typed FFM downcalls into the C library: files, ioctl, memory mappings, sockets, signals, threads.
 *
 * <p>Every call that can fail captures errno at the call. Failures become {@link SyscallException}s
 * whose message names the call and key arguments; where a caller expects a failure as a normal outcome
 * (EAGAIN, EINTR, EEXIST ...) there is an {@code ...OrErrno} variant that returns {@code -errno}
 * instead. Pointers are {@link MemorySegment}s; sizes are {@code long}s; file descriptors are
 * {@code int}s owned by whoever opened them.
 */
public final class LibC {
    private LibC() {
    }

    // ---- handles (capture segment first; see Natives.downcallErrno) --------------------------------
    private static final MethodHandle OPEN = Natives.downcallErrno("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), 2);
    private static final MethodHandle CLOSE = Natives.downcallErrno("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle READ = Natives.downcallErrno("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), -1);
    private static final MethodHandle WRITE = Natives.downcallErrno("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), -1);
    private static final MethodHandle PREAD = Natives.downcallErrno("pread64",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), -1);
    private static final MethodHandle PWRITE = Natives.downcallErrno("pwrite64",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), -1);
    private static final MethodHandle READV = Natives.downcallErrno("readv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle WRITEV = Natives.downcallErrno("writev",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle IOCTL_PTR = Natives.downcallErrno("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), 2);
    private static final MethodHandle IOCTL_LONG = Natives.downcallErrno("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), 2);
    private static final MethodHandle FCNTL = Natives.downcallErrno("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), 2);
    private static final MethodHandle MMAP = Natives.downcallErrno("mmap64",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), -1);
    private static final MethodHandle MUNMAP = Natives.downcallErrno("munmap",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), -1);
    private static final MethodHandle MADVISE = Natives.downcallErrno("madvise",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), -1);
    private static final MethodHandle MPROTECT = Natives.downcallErrno("mprotect",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), -1);
    private static final MethodHandle MLOCK = Natives.downcallErrno("mlock",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), -1);
    private static final MethodHandle MUNLOCK = Natives.downcallErrno("munlock",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), -1);
    private static final MethodHandle MEMFD_CREATE = Natives.downcallErrno("memfd_create",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle FTRUNCATE = Natives.downcallErrno("ftruncate64",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG), -1);
    private static final MethodHandle FALLOCATE = Natives.downcallErrno("fallocate64",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), -1);
    private static final MethodHandle FSTATFS = Natives.downcallErrno("fstatfs64",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), -1);
    private static final MethodHandle POLL = Natives.downcallErrno("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), -1);
    private static final MethodHandle EVENTFD = Natives.downcallErrno("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle PIPE2 = Natives.downcallErrno("pipe2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle SYSCALL6 = Natives.downcallErrno("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG), 1);
    private static final MethodHandle SOCKET = Natives.downcallErrno("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle BIND = Natives.downcallErrno("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle LISTEN = Natives.downcallErrno("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle ACCEPT4 = Natives.downcallErrno("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle CONNECT = Natives.downcallErrno("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle SHUTDOWN = Natives.downcallErrno("shutdown",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle SETSOCKOPT = Natives.downcallErrno("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle GETSOCKOPT = Natives.downcallErrno("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), -1);
    private static final MethodHandle GETSOCKNAME = Natives.downcallErrno("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), -1);
    private static final MethodHandle SENDMSG = Natives.downcallErrno("sendmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle RECVMSG = Natives.downcallErrno("recvmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle TGKILL = Natives.downcallErrno("tgkill",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle SIGTIMEDWAIT = Natives.downcallErrno("sigtimedwait",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), -1);
    /** pthread_sigmask returns the error number instead of setting errno. */
    private static final MethodHandle PTHREAD_SIGMASK = Natives.downcall("pthread_sigmask",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETPID = Natives.downcall("getpid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle GETTID = Natives.downcall("gettid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle SYSCONF = Natives.downcall("sysconf",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT));

    // ---- files -----------------------------------------------------------------------------------

    /** {@code open(2)}; returns the new fd. */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) OPEN.invokeExact(cs, arena.allocateFrom(path), flags, mode);
            if (r < 0) throw fail("open(" + path + ", flags=0x" + Integer.toHexString(flags) + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code open(2)}, returning {@code -errno} instead of throwing (for probing e.g. /dev/kvm). */
    public static int openOrErrno(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) OPEN.invokeExact(cs, arena.allocateFrom(path), flags, mode);
            return r < 0 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code close(2)}. The fd is released even when close reports an error, so never retry. */
    public static void close(int fd) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) CLOSE.invokeExact(cs, fd);
            if (r < 0) throw fail("close(fd=" + fd + ")", cs);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code read(2)} into {@code buf[0, count)}; returns bytes read (0 at end of file). */
    public static long read(int fd, MemorySegment buf, long count) {
        checkRange(buf, 0, count);
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) READ.invokeExact(cs, fd, buf, count);
            if (r < 0) throw fail("read(fd=" + fd + ", count=" + count + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code read(2)} returning {@code -errno} (EAGAIN, EINTR) instead of throwing. */
    public static long readOrErrno(int fd, MemorySegment buf, long count) {
        checkRange(buf, 0, count);
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) READ.invokeExact(cs, fd, buf, count);
            return r < 0 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code write(2)} from {@code buf[0, count)}; returns bytes written. */
    public static long write(int fd, MemorySegment buf, long count) {
        checkRange(buf, 0, count);
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) WRITE.invokeExact(cs, fd, buf, count);
            if (r < 0) throw fail("write(fd=" + fd + ", count=" + count + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code write(2)} returning {@code -errno} (EAGAIN, EINTR, EPIPE) instead of throwing. */
    public static long writeOrErrno(int fd, MemorySegment buf, long count) {
        checkRange(buf, 0, count);
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) WRITE.invokeExact(cs, fd, buf, count);
            return r < 0 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code pread(2)}. */
    public static long pread(int fd, MemorySegment buf, long count, long offset) {
        checkRange(buf, 0, count);
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) PREAD.invokeExact(cs, fd, buf, count, offset);
            if (r < 0) throw fail("pread(fd=" + fd + ", count=" + count + ", offset=" + offset + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code pwrite(2)}. */
    public static long pwrite(int fd, MemorySegment buf, long count, long offset) {
        checkRange(buf, 0, count);
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) PWRITE.invokeExact(cs, fd, buf, count, offset);
            if (r < 0) throw fail("pwrite(fd=" + fd + ", count=" + count + ", offset=" + offset + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code readv(2)}: {@code iov} holds {@code iovcnt} {@code struct iovec}s (see {@link IoVec}). */
    public static long readv(int fd, MemorySegment iov, int iovcnt) {
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) READV.invokeExact(cs, fd, iov, iovcnt);
            if (r < 0) throw fail("readv(fd=" + fd + ", iovcnt=" + iovcnt + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code writev(2)}: {@code iov} holds {@code iovcnt} {@code struct iovec}s (see {@link IoVec}). */
    public static long writev(int fd, MemorySegment iov, int iovcnt) {
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) WRITEV.invokeExact(cs, fd, iov, iovcnt);
            if (r < 0) throw fail("writev(fd=" + fd + ", iovcnt=" + iovcnt + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code writev(2)} returning {@code -errno} (EAGAIN, EINTR, EPIPE) instead of throwing. */
    public static long writevOrErrno(int fd, MemorySegment iov, int iovcnt) {
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) WRITEV.invokeExact(cs, fd, iov, iovcnt);
            return r < 0 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code fcntl(fd, cmd, arg)}. */
    public static int fcntl(int fd, int cmd, long arg) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) FCNTL.invokeExact(cs, fd, cmd, arg);
            if (r < 0) throw fail("fcntl(fd=" + fd + ", cmd=" + cmd + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code fstatfs(2)} into {@code buf} (a {@code struct statfs}). */
    public static void fstatfs(int fd, MemorySegment buf) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) FSTATFS.invokeExact(cs, fd, buf);
            if (r < 0) throw fail("fstatfs(fd=" + fd + ")", cs);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    // ---- ioctl -------------------------------------------------------------------------------------

    /** {@code ioctl(fd, request, arg)} with a pointer argument; returns the (non-negative) result. */
    public static int ioctl(int fd, Ioctl request, MemorySegment arg) {
        return ioctl(fd, request, arg, null);
    }

    /**
     * {@code ioctl(fd, request, arg)} with a pointer argument.
     *
     * @param detail key arguments for the error message, e.g. {@code "slot=3"}; may be null
     */
    public static int ioctl(int fd, Ioctl request, MemorySegment arg, String detail) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) IOCTL_PTR.invokeExact(cs, fd, request.code(), arg);
            if (r < 0) throw fail(ioctlCall(request, detail), cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code ioctl(fd, request, value)} with an integer argument; returns the (non-negative) result. */
    public static int ioctl(int fd, Ioctl request, long value) {
        return ioctl(fd, request, value, null);
    }

    /** {@code ioctl(fd, request, value)} with an integer argument and an error-message detail. */
    public static int ioctl(int fd, Ioctl request, long value, String detail) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) IOCTL_LONG.invokeExact(cs, fd, request.code(), value);
            if (r < 0) throw fail(ioctlCall(request, detail), cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code ioctl} with a pointer argument, returning the result or {@code -errno}; never throws. */
    public static int ioctlOrErrno(int fd, Ioctl request, MemorySegment arg) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) IOCTL_PTR.invokeExact(cs, fd, request.code(), arg);
            return r < 0 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code ioctl} with an integer argument, returning the result or {@code -errno}; never throws. */
    public static int ioctlOrErrno(int fd, Ioctl request, long value) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) IOCTL_LONG.invokeExact(cs, fd, request.code(), value);
            return r < 0 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    private static String ioctlCall(Ioctl request, String detail) {
        return "ioctl(" + request.name() + (detail == null ? "" : ", " + detail) + ")";
    }

    // ---- memory mappings ---------------------------------------------------------------------------

    /**
     * {@code mmap(2)}; returns the mapping as a segment of {@code length} bytes. The caller owns it
     * and must {@link #munmap} it exactly once.
     */
    public static MemorySegment mmap(long addrHint, long length, int prot, int flags, int fd, long offset) {
        try {
            MemorySegment cs = Natives.captureSegment();
            MemorySegment p = (MemorySegment) MMAP.invokeExact(cs, MemorySegment.ofAddress(addrHint), length, prot,
                    flags, fd, offset);
            if (p.address() == -1L) {
                throw fail("mmap(length=" + length + ", prot=0x" + Integer.toHexString(prot) + ", flags=0x"
                        + Integer.toHexString(flags) + ", fd=" + fd + ", offset=" + offset + ")", cs);
            }
            return Natives.sized(p, length);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code mmap(2)} returning null and leaving the errno in {@code errnoOut[0]} instead of throwing. */
    public static MemorySegment mmapOrNull(long addrHint, long length, int prot, int flags, int fd, long offset,
                                           int[] errnoOut) {
        try {
            MemorySegment cs = Natives.captureSegment();
            MemorySegment p = (MemorySegment) MMAP.invokeExact(cs, MemorySegment.ofAddress(addrHint), length, prot,
                    flags, fd, offset);
            if (p.address() == -1L) {
                errnoOut[0] = Natives.errno(cs);
                return null;
            }
            return Natives.sized(p, length);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code munmap(2)} of a whole mapping returned by {@link #mmap}. */
    public static void munmap(MemorySegment mapping) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) MUNMAP.invokeExact(cs, mapping, mapping.byteSize());
            if (r < 0) throw fail("munmap(length=" + mapping.byteSize() + ")", cs);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code madvise(2)} over the whole of {@code range} (a slice of a mapping). */
    public static void madvise(MemorySegment range, int advice) {
        int r = madviseOrErrno(range, advice);
        if (r < 0) {
            throw new SyscallException("madvise(length=" + range.byteSize() + ", advice=" + advice + ")", -r);
        }
    }

    /** {@code madvise(2)} returning 0 or {@code -errno} (EINVAL for an advice the kernel lacks). */
    public static int madviseOrErrno(MemorySegment range, int advice) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) MADVISE.invokeExact(cs, range, range.byteSize(), advice);
            return r < 0 ? -Natives.errno(cs) : 0;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code mprotect(2)} over the whole of {@code range}. */
    public static void mprotect(MemorySegment range, int prot) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) MPROTECT.invokeExact(cs, range, range.byteSize(), prot);
            if (r < 0) throw fail("mprotect(length=" + range.byteSize() + ", prot=0x" + Integer.toHexString(prot) + ")", cs);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code mlock(2)} returning 0 or {@code -errno} (ENOMEM/EPERM when RLIMIT_MEMLOCK is too small). */
    public static int mlockOrErrno(MemorySegment range) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) MLOCK.invokeExact(cs, range, range.byteSize());
            return r < 0 ? -Natives.errno(cs) : 0;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code munlock(2)}. */
    public static void munlock(MemorySegment range) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) MUNLOCK.invokeExact(cs, range, range.byteSize());
            if (r < 0) throw fail("munlock(length=" + range.byteSize() + ")", cs);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code memfd_create(2)}; returns the new fd. */
    public static int memfdCreate(String name, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) MEMFD_CREATE.invokeExact(cs, arena.allocateFrom(name), flags);
            if (r < 0) throw fail("memfd_create(" + name + ", flags=0x" + Integer.toHexString(flags) + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code ftruncate(2)}. */
    public static void ftruncate(int fd, long length) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) FTRUNCATE.invokeExact(cs, fd, length);
            if (r < 0) throw fail("ftruncate(fd=" + fd + ", length=" + length + ")", cs);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code fallocate(2)} returning 0 or {@code -errno} (ENOSPC when huge pages run out, EOPNOTSUPP). */
    public static int fallocateOrErrno(int fd, int mode, long offset, long length) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) FALLOCATE.invokeExact(cs, fd, mode, offset, length);
            return r < 0 ? -Natives.errno(cs) : 0;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    // ---- events, polling, raw syscalls -------------------------------------------------------------

    /** {@code poll(2)} over {@code nfds} {@code struct pollfd}s; returns ready count, or {@code -EINTR}. */
    public static int poll(MemorySegment fds, int nfds, int timeoutMs) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) POLL.invokeExact(cs, fds, (long) nfds, timeoutMs);
            if (r < 0) {
                int e = Natives.errno(cs);
                if (e == EINTR) return -EINTR;
                throw new SyscallException("poll(nfds=" + nfds + ", timeoutMs=" + timeoutMs + ")", e);
            }
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code eventfd(2)}; returns the new fd. */
    public static int eventfd(int initval, int flags) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) EVENTFD.invokeExact(cs, initval, flags);
            if (r < 0) throw fail("eventfd(flags=0x" + Integer.toHexString(flags) + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code pipe2(2)}; returns {read fd, write fd}. */
    public static int[] pipe2(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            MemorySegment cs = Natives.captureSegment();
            int r = (int) PIPE2.invokeExact(cs, fds, flags);
            if (r < 0) throw fail("pipe2(flags=0x" + Integer.toHexString(flags) + ")", cs);
            return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /**
     * {@code syscall(nr, a1..a6)} for system calls glibc does not wrap (e.g. {@code userfaultfd}).
     * Returns the result, or {@code -errno}; never throws on a kernel error.
     */
    public static long syscallOrErrno(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) SYSCALL6.invokeExact(cs, nr, a1, a2, a3, a4, a5, a6);
            return r == -1 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    // ---- sockets -----------------------------------------------------------------------------------

    /** {@code socket(2)}. */
    public static int socket(int domain, int type, int protocol) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) SOCKET.invokeExact(cs, domain, type, protocol);
            if (r < 0) throw fail("socket(domain=" + domain + ", type=" + type + ")", cs);
            return r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code bind(2)} to the {@code sockaddr} in {@code addr}. */
    public static void bind(int fd, MemorySegment addr, String addrText) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) BIND.invokeExact(cs, fd, addr, (int) addr.byteSize());
            if (r < 0) throw fail("bind(fd=" + fd + ", " + addrText + ")", cs);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code listen(2)}. */
    public static void listen(int fd, int backlog) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) LISTEN.invokeExact(cs, fd, backlog);
            if (r < 0) throw fail("listen(fd=" + fd + ")", cs);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code accept4(2)} without peer address; returns the fd or {@code -errno} (EAGAIN, EINTR). */
    public static int accept4OrErrno(int fd, int flags) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) ACCEPT4.invokeExact(cs, fd, MemorySegment.NULL, MemorySegment.NULL, flags);
            return r < 0 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code connect(2)}; returns 0 or {@code -errno} (ECONNREFUSED, EINPROGRESS, EINTR ...). */
    public static int connectOrErrno(int fd, MemorySegment addr) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) CONNECT.invokeExact(cs, fd, addr, (int) addr.byteSize());
            return r < 0 ? -Natives.errno(cs) : 0;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code shutdown(2)} returning 0 or {@code -errno} (ENOTCONN after the peer left is normal). */
    public static int shutdownOrErrno(int fd, int how) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) SHUTDOWN.invokeExact(cs, fd, how);
            return r < 0 ? -Natives.errno(cs) : 0;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code setsockopt(2)} with the option value in {@code value}. */
    public static void setsockopt(int fd, int level, int name, MemorySegment value, String optText) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) SETSOCKOPT.invokeExact(cs, fd, level, name, value, (int) value.byteSize());
            if (r < 0) throw fail("setsockopt(fd=" + fd + ", " + optText + ")", cs);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code getsockopt(2)}; returns the option length the kernel wrote into {@code value}. */
    public static int getsockopt(int fd, int level, int name, MemorySegment value, String optText) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment len = arena.allocateFrom(JAVA_INT, (int) value.byteSize());
            MemorySegment cs = Natives.captureSegment();
            int r = (int) GETSOCKOPT.invokeExact(cs, fd, level, name, value, len);
            if (r < 0) throw fail("getsockopt(fd=" + fd + ", " + optText + ")", cs);
            return len.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code getsockname(2)} into {@code addr}; returns the address length. */
    public static int getsockname(int fd, MemorySegment addr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment len = arena.allocateFrom(JAVA_INT, (int) addr.byteSize());
            MemorySegment cs = Natives.captureSegment();
            int r = (int) GETSOCKNAME.invokeExact(cs, fd, addr, len);
            if (r < 0) throw fail("getsockname(fd=" + fd + ")", cs);
            return len.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code sendmsg(2)}; returns bytes sent or {@code -errno} (EAGAIN, EINTR, ENOBUFS, EPIPE ...). */
    public static long sendmsgOrErrno(int fd, MemorySegment msghdr, int flags) {
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) SENDMSG.invokeExact(cs, fd, msghdr, flags);
            return r < 0 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code recvmsg(2)}; returns bytes received or {@code -errno} (EAGAIN, EINTR ...). */
    public static long recvmsgOrErrno(int fd, MemorySegment msghdr, int flags) {
        try {
            MemorySegment cs = Natives.captureSegment();
            long r = (long) RECVMSG.invokeExact(cs, fd, msghdr, flags);
            return r < 0 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    // ---- threads and signals -----------------------------------------------------------------------

    /** {@code getpid(2)}. */
    public static int getpid() {
        try {
            return (int) GETPID.invokeExact();
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code gettid(2)}: the kernel thread id of the calling (carrier) thread. */
    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code tgkill(2)}: send {@code sig} to one thread; returns 0 or {@code -errno} (ESRCH if it exited). */
    public static int tgkillOrErrno(int tgid, int tid, int sig) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) TGKILL.invokeExact(cs, tgid, tid, sig);
            return r < 0 ? -Natives.errno(cs) : 0;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /**
     * {@code pthread_sigmask(how, set, oldset)} for the calling thread; {@code set}/{@code oldset} are
     * {@code sigset_t}s (see {@link SigSet}) or {@link MemorySegment#NULL}.
     */
    public static void pthreadSigmask(int how, MemorySegment set, MemorySegment oldset) {
        try {
            int r = (int) PTHREAD_SIGMASK.invokeExact(how, set, oldset);
            if (r != 0) throw new SyscallException("pthread_sigmask(how=" + how + ")", r);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /**
     * {@code sigtimedwait(set, NULL, timeout)}: consume one pending signal from {@code set}; returns the
     * signal number, or {@code -errno} (EAGAIN on timeout, EINTR).
     *
     * @param timespec a {@code struct timespec} (two longs), or NULL to wait forever
     */
    public static int sigtimedwaitOrErrno(MemorySegment set, MemorySegment timespec) {
        try {
            MemorySegment cs = Natives.captureSegment();
            int r = (int) SIGTIMEDWAIT.invokeExact(cs, set, MemorySegment.NULL, timespec);
            return r < 0 ? -Natives.errno(cs) : r;
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code sysconf(name)}. */
    public static long sysconf(int name) {
        try {
            return (long) SYSCONF.invokeExact(name);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------

    /** errno values LibC itself interprets (the full set is in the generated ErrnoH). */
    private static final int EINTR = io.livemig.sys.abi.ErrnoH.EINTR;

    private static SyscallException fail(String call, MemorySegment capture) {
        return new SyscallException(call, Natives.errno(capture));
    }

    private static void checkRange(MemorySegment buf, long offset, long count) {
        if (count < 0 || offset < 0 || offset + count > buf.byteSize()) {
            throw new IndexOutOfBoundsException("count=" + count + " at offset=" + offset
                    + ", expected within a buffer of " + buf.byteSize() + " bytes");
        }
    }

    // ---- mappings owned by an arena (appended for the memory module) ------------------------------

    /**
     * {@code mmap(2)} whose mapping belongs to {@code owner}: the returned segment is usable only while
     * {@code owner} is open, and closing {@code owner} munmaps it. Access after close then throws
     * {@link IllegalStateException} instead of faulting on an unmapped address, and a shared arena's close
     * waits out (or refuses, with IllegalStateException) threads still accessing the segment. A munmap
     * failure surfaces as a {@link SyscallException} from {@code owner.close()}.
     */
    @SuppressWarnings("restricted") // reinterpret ties the mapping to its arena (munmap on close)
    public static MemorySegment mmap(Arena owner, long addrHint, long length, int prot, int flags, int fd,
                                     long offset) {
        MemorySegment mapping = mmap(addrHint, length, prot, flags, fd, offset);
        return mapping.reinterpret(owner, LibC::munmap);
    }

    /**
     * An anonymous {@code mmap(2)} of {@code length} bytes whose start is a multiple of {@code alignment}
     * (a power of two), owned by {@code owner} like {@link #mmap(Arena, long, long, int, int, int, long)}.
     * Maps {@code length + alignment} and unmaps the unaligned head and the tail, as QEMU does for guest
     * RAM (QEMU_VMALLOC_ALIGN): a transparent huge page can only back a 2 MiB-aligned range, so an
     * unaligned block loses a huge page at each end and, worse, every huge page boundary inside it.
     */
    @SuppressWarnings("restricted") // reinterpret ties the mapping to its arena (munmap on close)
    public static MemorySegment mmapAnonymousAligned(Arena owner, long length, long alignment, int prot, int flags) {
        if (Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment=" + alignment + ", expected a power of two");
        }
        MemorySegment whole = mmap(0, length + alignment, prot, flags, -1, 0);
        long start = (whole.address() + alignment - 1) & -alignment;
        long head = start - whole.address();
        long tail = alignment - head;
        if (head > 0) munmap(whole.asSlice(0, head));
        if (tail > 0) munmap(whole.asSlice(head + length, tail));
        return whole.asSlice(head, length).reinterpret(owner, LibC::munmap);
    }
}
