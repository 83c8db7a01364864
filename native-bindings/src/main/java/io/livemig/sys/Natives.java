package io.livemig.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The one place that links downcalls and calls restricted FFM methods. errno is captured at the call
 * into a per-thread segment ({@link #captureSegment()}) and read only when the call reported failure:
 * the segment holds whatever errno was last, so reading it after a success means nothing.
 */
@SuppressWarnings("restricted") // the FFM calls that need --enable-native-access live here, on purpose
final class Natives {
    static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /** One capture segment per thread, allocated once; never shared, so no ordering is needed. */
    private static final ThreadLocal<MemorySegment> CAPTURE =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE_LAYOUT));

    private Natives() {
    }

    /** A downcall with no errno capture (calls that cannot fail, or report errors in their return value). */
    static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment sym = LIBC.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: " + name));
        return LINKER.downcallHandle(sym, fd, options);
    }

    /** Like {@link #downcall} but null when the C library lacks the symbol (e.g. older glibc). */
    static MethodHandle downcallOrNull(String name, FunctionDescriptor fd) {
        return LIBC.find(name).map(sym -> LINKER.downcallHandle(sym, fd)).orElse(null);
    }

    /**
     * A downcall whose handle takes the capture segment as its first argument.
     *
     * @param firstVariadicArg index of the first variadic argument, or -1 for a fixed-arity function
     */
    static MethodHandle downcallErrno(String name, FunctionDescriptor fd, int firstVariadicArg) {
        MemorySegment sym = LIBC.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: " + name));
        return firstVariadicArg < 0
                ? LINKER.downcallHandle(sym, fd, CAPTURE_ERRNO)
                : LINKER.downcallHandle(sym, fd, CAPTURE_ERRNO, Linker.Option.firstVariadicArg(firstVariadicArg));
    }

    /** This thread's errno capture segment. */
    static MemorySegment captureSegment() {
        return CAPTURE.get();
    }

    /** errno as captured by the last call that used {@code capture}. */
    static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /** A NUL-terminated string at a native address that libc returned. */
    static String cString(MemorySegment p) {
        return p.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** A native address returned by the kernel, viewed as a segment of {@code byteSize} bytes. */
    static MemorySegment sized(MemorySegment p, long byteSize) {
        return p.reinterpret(byteSize);
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException re) return re;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("downcall failed", t);
    }
}
