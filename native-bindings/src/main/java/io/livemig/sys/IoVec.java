package io.livemig.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code struct iovec} arrays for {@link LibC#readv}/{@link LibC#writev}/sendmsg: each entry points
 * straight at a slice of guest RAM or a header buffer, so gathering I/O never copies through the heap.
 *
 * <pre>
 * struct iovec { void *iov_base; size_t iov_len; }   // 16 bytes on x86-64
 * </pre>
 */
public final class IoVec {
    /** {@code sizeof(struct iovec)} on LP64. */
    public static final long BYTES = 16;

    private IoVec() {
    }

    /** An array of {@code count} iovecs. */
    public static MemorySegment allocate(Arena arena, int count) {
        return arena.allocate(BYTES * count, 8);
    }

    /** Entry {@code index} of {@code iov} describes all of {@code buffer}. */
    public static void set(MemorySegment iov, int index, MemorySegment buffer) {
        iov.set(JAVA_LONG, index * BYTES, buffer.address());
        iov.set(JAVA_LONG, index * BYTES + 8, buffer.byteSize());
    }

    /** The length stored in entry {@code index}. */
    public static long length(MemorySegment iov, int index) {
        return iov.get(JAVA_LONG, index * BYTES + 8);
    }

    /** Drop {@code bytes} from the front of entry {@code index} (after a short write). */
    public static void advance(MemorySegment iov, int index, long bytes) {
        long len = length(iov, index);
        if (bytes < 0 || bytes > len) {
            throw new IllegalArgumentException("advance bytes=" + bytes + ", expected 0.." + len);
        }
        iov.set(JAVA_LONG, index * BYTES, iov.get(JAVA_LONG, index * BYTES) + bytes);
        iov.set(JAVA_LONG, index * BYTES + 8, len - bytes);
    }
}
