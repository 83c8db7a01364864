package io.livemig.sys;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * errno names and texts from the C library itself ({@code strerrorname_np}, {@code strerror}), so no
 * table of kernel numbers is typed here. The numbers callers compare against are in the generated
 * {@code io.livemig.sys.abi.ErrnoH}.
 */
public final class Errno {
    private static final MethodHandle STRERRORNAME_NP =
            Natives.downcallOrNull("strerrorname_np", java.lang.foreign.FunctionDescriptor.of(ADDRESS, JAVA_INT));
    private static final MethodHandle STRERROR =
            Natives.downcall("strerror", java.lang.foreign.FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private Errno() {
    }

    /** {@code EBADF} for 9; {@code errno 4242} where the C library has no name. */
    public static String name(int errno) {
        if (STRERRORNAME_NP != null) {
            try {
                MemorySegment p = (MemorySegment) STRERRORNAME_NP.invokeExact(errno);
                if (!p.equals(MemorySegment.NULL)) return Natives.cString(p);
            } catch (Throwable t) {
                throw Natives.rethrow(t);
            }
        }
        return "errno " + errno;
    }

    /** The C library's text for errno, e.g. {@code Bad file descriptor}. */
    public static String text(int errno) {
        try {
            MemorySegment p = (MemorySegment) STRERROR.invokeExact(errno);
            return p.equals(MemorySegment.NULL) ? "Unknown error " + errno : Natives.cString(p);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
    }

    /** {@code EBADF(9) Bad file descriptor}. */
    public static String describe(int errno) {
        return name(errno) + "(" + errno + ") " + text(errno);
    }
}
