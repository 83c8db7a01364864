package io.livemig.kvm.java;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One Java "vCPU": a platform thread that runs its {@link JavaWorkload} in short steps (at most
 * {@link #PAGES_PER_STEP} page writes each) and checks for pause, close and throttle between steps.
 *
 * <p>Pause protocol (all fields volatile; one control thread, serialised by {@link JavaMachine}):
 * <ol>
 *   <li>control: {@code pauseGeneration++}, then {@code pauseRequested = true}, then unpark the vCPU
 *       (it may be parked idle or throttled);</li>
 *   <li>control, fast path: reads {@code inStep}. The vCPU writes {@code inStep = true} and only then reads
 *       {@code pauseRequested} before every step (a Dekker pair of volatile accesses: at least one side sees the
 *       other's write). So {@code inStep == false} means the vCPU is between steps — parked, sleeping, or
 *       preempted there — and will see the request before its next store: pause() returns at once, without
 *       waiting for the vCPU thread to be scheduled. Its last step's stores happen-before its
 *       {@code inStep = false}, so they are visible to the caller.</li>
 *   <li>otherwise the vCPU is inside a step (a few microseconds of stores): at the end of it, it sees
 *       {@code pauseRequested}, writes {@code pauseGeneration} to {@code ackGeneration}, unparks the waiter,
 *       and parks until {@code pauseRequested} is false, acknowledging again whenever it wakes to a newer
 *       generation (a resume directly followed by a pause may never show it {@code pauseRequested == false});
 *       control waits (spin, then short parks, bounded by the pause timeout) for that acknowledgement or the
 *       end of the thread.</li>
 * </ol>
 * The generation number makes a pause right after a resume wait for a fresh acknowledgement, never an old one.
 * A paused vCPU executes no step, so no guest write happens until resume. The remaining latency is the rest of
 * one step, plus however long the host scheduler keeps a vCPU thread that was preempted inside a step off the CPU.
 */
public final class JavaVcpu implements Runnable {
    /** Page writes per step: ~64 x (store + atomic OR) is a few microseconds even on first-touch faults. */
    public static final int PAGES_PER_STEP = 64;
    /** Throttling time slice: after running this long the vCPU sleeps its throttle share. */
    static final long THROTTLE_SLICE_NS = TimeUnit.MILLISECONDS.toNanos(10);

    private final int index;
    private final JavaWorkload workload;
    private final GuestAccess guest;
    private final Thread thread;

    private volatile boolean pauseRequested;
    private volatile boolean inStep;
    private volatile long pauseGeneration;
    private volatile long ackGeneration;
    private volatile Thread pauseWaiter;
    private volatile boolean closing;
    private volatile boolean ended;
    private volatile Throwable failure;
    private volatile int throttlePercent;
    private volatile long steps;
    private volatile long throttledNanos;

    JavaVcpu(int index, JavaWorkload workload, GuestAccess guest, String machineName) {
        this.index = index;
        this.workload = workload;
        this.guest = guest;
        this.thread = Thread.ofPlatform().name(machineName + "-vcpu" + index).daemon(true).unstarted(this);
        workload.attach(this::kick);
    }

    public int index() {
        return index;
    }

    public JavaWorkload workload() {
        return workload;
    }

    void start() {
        thread.start();
    }

    /** Wakes the vCPU when its workload waits for work (e.g. a scripted command was posted). */
    public void kick() {
        LockSupport.unpark(thread);
    }

    @Override
    public void run() {
        long sliceStart = 0; // 0: no throttle slice open
        try {
            while (true) {
                inStep = true; // volatile store, then the volatile loads below (Dekker with requestPause/awaitPaused)
                if (closing) break;
                if (pauseRequested) {
                    inStep = false;
                    parkPaused();
                    sliceStart = 0;
                    continue;
                }
                boolean more = workload.step(guest, PAGES_PER_STEP);
                steps++; // single writer
                inStep = false; // release: this step's stores are visible to a pause() that reads it
                if (!more) {
                    if (!pauseRequested && !closing) LockSupport.park(this); // woken by kick, pause or close
                    sliceStart = 0;
                    continue;
                }
                int throttle = throttlePercent;
                if (throttle == 0) {
                    sliceStart = 0;
                } else {
                    long now = System.nanoTime();
                    if (sliceStart == 0) {
                        sliceStart = now;
                    } else if (now - sliceStart >= THROTTLE_SLICE_NS) {
                        sleepFor((now - sliceStart) * throttle / (100 - throttle), throttle);
                        sliceStart = System.nanoTime();
                    }
                }
            }
        } catch (Throwable t) {
            failure = new IllegalStateException("vCPU " + index + " (" + workload.position() + ") failed: " + t, t);
        } finally {
            inStep = false;
            ended = true;
            Thread w = pauseWaiter;
            if (w != null) LockSupport.unpark(w);
        }
    }

    private void parkPaused() {
        long acked = -1;
        while (pauseRequested && !closing) {
            // Re-read the generation on every wake-up: a resume() immediately followed by a pause() may never
            // let this thread see pauseRequested == false, yet the new pause needs its own acknowledgement.
            long gen = pauseGeneration;
            if (gen != acked) {
                ackGeneration = gen; // after every store of the last step (program order, volatile write)
                acked = gen;
                Thread w = pauseWaiter;
                if (w != null) LockSupport.unpark(w);
            }
            LockSupport.park(this);
        }
    }

    /** Sleeps (for throttling) but wakes at once for pause, close, or a new throttle percentage. */
    private void sleepFor(long nanos, int throttle) {
        long start = System.nanoTime();
        long deadline = start + nanos;
        long left;
        while (!pauseRequested && !closing && throttlePercent == throttle && (left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(this, left);
        }
        throttledNanos += System.nanoTime() - start; // single writer
    }

    /** Step 1 of the pause protocol; returns the generation to wait for. */
    long requestPause() {
        pauseWaiter = Thread.currentThread();
        long gen = pauseGeneration + 1;
        pauseGeneration = gen;
        pauseRequested = true;
        LockSupport.unpark(thread);
        return gen;
    }

    /**
     * Steps 2-3: true once the vCPU is between steps, acknowledged, or ended; false when {@code deadlineNanos}
     * passed first.
     */
    boolean awaitPaused(long generation, long deadlineNanos) {
        long spinUntil = System.nanoTime() + TimeUnit.MICROSECONDS.toNanos(200);
        while (inStep && ackGeneration != generation && !ended) {
            long now = System.nanoTime();
            if (now - deadlineNanos > 0) return false;
            if (now - spinUntil < 0) Thread.onSpinWait();
            else LockSupport.parkNanos(this, deadlineNanos - now); // the ack (or the thread's end) unparks us
        }
        return true;
    }

    void resume() {
        pauseRequested = false;
        LockSupport.unpark(thread);
    }

    void setThrottlePercent(int percent) {
        this.throttlePercent = percent;
        LockSupport.unpark(thread);
    }

    /** Asks the thread to end and waits for it, at most {@code timeoutMs}; returns whether it ended. */
    boolean close(long timeoutMs) throws InterruptedException {
        closing = true;
        LockSupport.unpark(thread);
        if (thread.getState() == Thread.State.NEW) return true;
        thread.join(timeoutMs);
        return !thread.isAlive();
    }

    Throwable failure() {
        return failure;
    }

    boolean ended() {
        return ended;
    }

    long steps() {
        return steps;
    }

    long throttledNanos() {
        return throttledNanos;
    }

    /** The thread's name (its /proc comm, for tests that read the host scheduler's statistics). */
    String threadName() {
        return thread.getName();
    }

    /** For error messages: where the vCPU is and what its thread does. */
    String describe() {
        return "vCPU " + index + " [" + workload.position() + ", thread " + thread.getName() + " " + thread.getState()
                + (pauseRequested ? ", pause requested gen " + pauseGeneration + " ack " + ackGeneration : "") + "]";
    }
}
