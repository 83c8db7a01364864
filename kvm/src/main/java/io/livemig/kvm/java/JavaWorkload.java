package io.livemig.kvm.java;

/**
 * What a Java "vCPU" executes: the guest program, as a state machine whose complete state is a few fields
 * (for the A-B guest: phase, next page, pass counter), so it can be saved in one machine or process and
 * continue mid-loop in another.
 *
 * <p>Threads: {@link #step} runs only on the vCPU thread. {@link #saveState}/{@link #loadState} run on the
 * control thread only while the vCPU is paused or not yet started; the pause acknowledgement (a volatile
 * write by the vCPU, read by the control thread) and resume (the reverse) order those accesses.
 */
public interface JavaWorkload {

    /** Short name used in state entry names ({@code "cpu0/<name>"}): {@code "ab"}, {@code "idle"}, ... */
    String name();

    /**
     * Executes at most {@code maxPageWrites} guest writes through {@code guest} and returns; the vCPU checks
     * for pause between steps, so a step must stay short (microseconds).
     *
     * @return true when there is more to do now; false to wait until {@link JavaVcpu#kick() kicked}
     *         (or paused, or closed)
     */
    boolean step(GuestAccess guest, int maxPageWrites);

    /** The complete state, in the workload's own versioned layout. */
    byte[] saveState();

    /** Restores a state from {@link #saveState} (possibly of another process); IllegalArgumentException on bad input. */
    void loadState(byte[] state);

    /** Called once before the vCPU starts, with a way to wake the vCPU when {@link #step} returned false. */
    default void attach(Runnable kickVcpu) {
    }

    /** Where the workload is, for error messages and logs (e.g. {@code "loop at page 0x2000000, pass 17"}). */
    default String position() {
        return name();
    }
}
