package io.livemig.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A glibc {@code sigset_t} (1024 bits, 128 bytes) for {@link LibC#pthreadSigmask} and
 * {@link LibC#sigtimedwaitOrErrno}; the kernel's own {@code sigset_t} (KVM_SET_SIGNAL_MASK) is the first
 * 8 bytes of it. Signal {@code n} is bit {@code n - 1}.
 */
public final class SigSet {
    /** {@code sizeof(sigset_t)} in glibc. */
    public static final long BYTES = 128;
    /** {@code sizeof(kernel sigset_t)} on x86-64: what KVM_SET_SIGNAL_MASK expects in {@code len}. */
    public static final int KERNEL_BYTES = 8;

    private SigSet() {
    }

    /** An empty set. */
    public static MemorySegment empty(Arena arena) {
        return arena.allocate(BYTES, 8);
    }

    /** A set holding exactly {@code signals}. */
    public static MemorySegment of(Arena arena, int... signals) {
        MemorySegment set = empty(arena);
        for (int s : signals) add(set, s);
        return set;
    }

    public static void add(MemorySegment set, int signal) {
        if (signal < 1 || signal > 64) throw new IllegalArgumentException("signal=" + signal + ", expected 1..64");
        set.set(JAVA_LONG, 0, set.get(JAVA_LONG, 0) | (1L << (signal - 1)));
    }

    public static void remove(MemorySegment set, int signal) {
        if (signal < 1 || signal > 64) throw new IllegalArgumentException("signal=" + signal + ", expected 1..64");
        set.set(JAVA_LONG, 0, set.get(JAVA_LONG, 0) & ~(1L << (signal - 1)));
    }

    public static boolean contains(MemorySegment set, int signal) {
        return signal >= 1 && signal <= 64 && (set.get(JAVA_LONG, 0) & (1L << (signal - 1))) != 0;
    }
}
