package io.livemig.kvm;

import io.livemig.memory.GuestMemory;

import java.util.Optional;

/**
 * A guest: RAM plus vCPUs that run on it, either on /dev/kvm ({@code "kvm"}) or as Java threads that
 * execute the same workloads on the off-heap RAM ({@code "java"}, for hosts without KVM).
 *
 * <p>Lifecycle: created (state may be loaded) -> {@link #start()} -> running <-> paused (via
 * {@link #pause()}/{@link #resume()}) -> {@link #close()}. An unexpected vCPU exit moves it to
 * {@link RunState#FAILED} with {@link #failure()} naming the exit and the guest rip.
 *
 * <p>Threads: each vCPU has one run-loop thread. {@link #pause()} and {@link #resume()} may be called
 * from any one control thread at a time (the migration thread or the QMP thread, serialised by the caller).
 */
public interface GuestMachine extends AutoCloseable {

    /** The state a machine is in, as the control thread sees it. */
    enum RunState { CREATED, RUNNING, PAUSED, FAILED, CLOSED }

    /** {@code "kvm"} or {@code "java"}. */
    String accelerator();

    GuestMemory memory();

    int vcpuCount();

    /** Starts the vCPU threads. Only from {@link RunState#CREATED}. */
    void start();

    /**
     * Stops every vCPU and returns once none executes a guest instruction; returns within 10 ms even when
     * the guest never exits on its own. Idempotent. Paused means no guest instruction runs until resume.
     */
    void pause();

    /** Lets the vCPUs run again. Idempotent. */
    void resume();

    RunState runState();

    /** Why the machine is FAILED (the exit reason and rip for KVM), if it is. */
    Optional<Throwable> failure();

    /**
     * The complete vCPU and device state, in the order {@link #loadState} restores it. Only while paused
     * (or not yet started).
     */
    MachineState saveState();

    /** Restores a state saved by {@link #saveState} of a machine of the same accelerator and shape. */
    void loadState(MachineState state);

    /**
     * Starts dirty tracking of all guest RAM with the given backend; the tracker is owned by the caller and
     * stops tracking when closed. Throws {@link UnsupportedOperationException} naming the reason when this
     * machine or host cannot do that backend.
     */
    DirtyTracker startDirtyTracking(DirtyTracker.Config config);

    /**
     * Auto-converge: each vCPU stays paused for {@code percent}% of every time slice (0 = full speed), so
     * the guest dirties memory more slowly. Machines without vCPUs ignore it.
     */
    default void setThrottlePercent(int percent) {
        if (percent < 0 || percent > 99) {
            throw new IllegalArgumentException("throttle percent=" + percent + ", expected 0..99");
        }
        if (percent != 0) {
            throw new UnsupportedOperationException("CPU throttling is not implemented by the " + accelerator() + " machine");
        }
    }

    /** Pauses, stops the vCPU threads, releases KVM fds. Does not close {@link #memory()} (not owned). */
    @Override
    void close();
}
