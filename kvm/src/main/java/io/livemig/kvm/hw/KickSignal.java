package io.livemig.kvm.hw;

import io.livemig.sys.LibC;
import io.livemig.sys.SigSet;
import io.livemig.sys.abi.ErrnoH;
import io.livemig.sys.abi.SignalH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Kicking a vCPU thread out of KVM_RUN without a Java signal handler (QEMU's SIG_IPI scheme):
 * <ol>
 *   <li>The vCPU thread blocks {@link #SIGNAL} with pthread_sigmask for good, and gives KVM_SET_SIGNAL_MASK its
 *       mask <em>without</em> it: the signal is deliverable only while the thread is inside KVM_RUN.</li>
 *   <li>A kick is: {@code kvm_run.immediate_exit = 1} (release store) and then {@code tgkill(pid, tid, SIGNAL)}.
 *       In guest mode the signal's IPI forces an exit and KVM_RUN returns EINTR; between two KVM_RUNs the
 *       immediate_exit flag (and the still-pending signal) makes the next KVM_RUN return EINTR at once, after
 *       completing any pending I/O. immediate_exit is stored first so that no window exists where the signal
 *       was consumed but the flag not yet visible.</li>
 *   <li>KVM restores the blocking mask before KVM_RUN returns, so the signal is never delivered to a handler; the
 *       vCPU thread consumes it with sigtimedwait (zero timeout) after every EINTR ({@link #drain}).</li>
 * </ol>
 * {@link #SIGNAL} is a real-time signal neither glibc (which reserves kernel SIGRTMIN and SIGRTMIN+1) nor
 * HotSpot (SIGUSR2 for suspend/resume, SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGQUIT/SIGTRAP) uses.
 */
public final class KickSignal {
    /** The kick signal: kernel SIGRTMIN + 8 (40). */
    public static final int SIGNAL = SignalH.SIGRTMIN_KERNEL + 8;

    private KickSignal() {
    }

    /**
     * Blocks {@link #SIGNAL} in the calling thread and returns the kernel sigset (bit n-1 = signal n) that
     * KVM_RUN should use: the thread's previous mask without {@link #SIGNAL}.
     */
    public static long blockInCurrentThread() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = SigSet.of(arena, SIGNAL);
            MemorySegment old = SigSet.empty(arena);
            LibC.pthreadSigmask(SignalH.SIG_BLOCK, set, old);
            SigSet.remove(old, SIGNAL);
            return old.get(JAVA_LONG, 0);
        }
    }

    /** Sends the kick to thread {@code tid} of this process; false when that thread no longer exists. */
    public static boolean send(int tid) {
        int r = LibC.tgkillOrErrno(LibC.getpid(), tid, SIGNAL);
        if (r == -ErrnoH.ESRCH) return false;
        if (r < 0) throw new io.livemig.sys.SyscallException("tgkill(tid=" + tid + ", sig=" + SIGNAL + ")", -r);
        return true;
    }

    /** Consumes any pending kick of the calling thread (which must have it blocked); returns how many. */
    public static int drain() {
        int n = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = SigSet.of(arena, SIGNAL);
            MemorySegment zero = arena.allocate(16, 8); // struct timespec {0, 0}: poll, never wait
            while (true) {
                int r = LibC.sigtimedwaitOrErrno(set, zero);
                if (r == SIGNAL) {
                    n++;
                    continue;
                }
                if (r == -ErrnoH.EAGAIN) return n;
                if (r == -ErrnoH.EINTR) continue;
                throw new io.livemig.sys.SyscallException("sigtimedwait(sig=" + SIGNAL + ")", -r);
            }
        }
    }
}
