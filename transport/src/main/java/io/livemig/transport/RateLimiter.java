package io.livemig.transport;

import java.io.InterruptedIOException;
import java.util.concurrent.locks.LockSupport;

/**
 * Token bucket for {@code max-bandwidth}: tokens accrue at {@code maxBandwidthBytesPerSec} up to one
 * burst ({@link #BURST_SECONDS} worth); {@link #acquire} takes tokens and, when the bucket runs into
 * debt, sleeps until the debt is paid. The long-run rate therefore never exceeds the limit by more than
 * one burst, however the writes are sized.
 *
 * <p>Threads: {@link #acquire} is called by the one writing thread; {@link #setRate} may be called from
 * any thread (migrate-set-parameters during a migration) and is picked up on the next acquire.
 */
public final class RateLimiter {
    /** The bucket holds at most this many seconds of tokens (QEMU works in 100 ms windows too). */
    public static final double BURST_SECONDS = 0.1;

    /** 0 = unlimited. Written by any thread, read by the writer. */
    private volatile long maxBandwidthBytesPerSec;
    private double tokens;
    private long lastRefillNanos = System.nanoTime();
    private long totalSleptNanos;

    public RateLimiter(long maxBandwidthBytesPerSec) {
        setRate(maxBandwidthBytesPerSec);
    }

    /** Changes the limit; 0 removes it. */
    public void setRate(long maxBandwidthBytesPerSec) {
        if (maxBandwidthBytesPerSec < 0) {
            throw new IllegalArgumentException("maxBandwidthBytesPerSec=" + maxBandwidthBytesPerSec
                    + ", expected >= 0 (0 = unlimited)");
        }
        this.maxBandwidthBytesPerSec = maxBandwidthBytesPerSec;
    }

    public long rate() {
        return maxBandwidthBytesPerSec;
    }

    /** Nanoseconds spent sleeping in {@link #acquire} so far. */
    public long totalSleptNanos() {
        return totalSleptNanos;
    }

    /** Takes {@code bytes} tokens, sleeping as long as the limit requires. */
    public void acquire(long bytes) throws InterruptedIOException {
        long rate = maxBandwidthBytesPerSec;
        long now = System.nanoTime();
        if (rate == 0) {
            lastRefillNanos = now;
            tokens = 0;
            return;
        }
        double burst = Math.max(rate * BURST_SECONDS, 1);
        tokens = Math.min(burst, tokens + (now - lastRefillNanos) * (rate / 1e9));
        lastRefillNanos = now;
        tokens -= bytes;
        if (tokens >= 0) return;
        long waitNanos = (long) Math.ceil(-tokens / rate * 1e9);
        long deadline = now + waitNanos;
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while rate limiting to " + rate + " bytes/s");
            }
        }
        totalSleptNanos += waitNanos;
        // The debt is paid by the time we slept through; tokens accrued during the sleep are counted on
        // the next call from lastRefillNanos, so move it to the deadline and clear the debt.
        long after = System.nanoTime();
        tokens = Math.min(burst, (after - deadline) * (rate / 1e9));
        lastRefillNanos = after;
    }
}
