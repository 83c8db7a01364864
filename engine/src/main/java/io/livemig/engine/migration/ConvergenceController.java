package io.livemig.engine.migration;

/**
 * When to stop iterating and how hard to throttle the guest: QEMU 7.2's precopy arithmetic in one place.
 *
 * <ul>
 *   <li>Every {@link #UPDATE_PERIOD_MS} the migration thread calls {@link #updateCounters}: bandwidth is
 *   bytes sent in the window over its duration; {@code thresholdBytes = bandwidth x downtime-limit} is
 *   what can be sent while the guest is stopped; expected downtime is remaining / bandwidth
 *   ({@code migration_update_counters}).</li>
 *   <li>Switchover when the pending bytes fit under the threshold ({@link #canSwitchOver}); QEMU first
 *   re-syncs the dirty log when the estimate fits and decides on the exact figure, and so does livemig's
 *   migration thread.</li>
 *   <li>Auto-converge ({@link #onDirtySync}): over each sync period of at least 1 s, if the guest dirtied
 *   more than {@code throttle-trigger-threshold}% of what was sent, twice in a row, raise the throttle:
 *   first to {@code cpu-throttle-initial}, then by {@code cpu-throttle-increment} (or, with tailslow, by
 *   what is needed to bring the dirty rate to the threshold, capped by the increment), never above
 *   {@code max-cpu-throttle} ({@code migration_trigger_throttle}, {@code mig_throttle_guest_down}).</li>
 * </ul>
 * Threads: used by the migration thread only; {@link #throttlePercent()} and the stats may be read by
 * the QMP thread (volatile fields, each written by the migration thread alone).
 */
public final class ConvergenceController {
    /** How often counters are updated, as QEMU's BUFFER_DELAY. */
    public static final long UPDATE_PERIOD_MS = 100;
    /** Minimum length of a dirty-sync period that auto-converge judges. */
    public static final long THROTTLE_PERIOD_MS = 1000;
    private static final long PAGE_SIZE = 4096;

    private MigrationParameters.Snapshot params;
    private final boolean autoConverge;

    // Counter window (migration thread only)
    private long windowStartMs;
    private long windowStartBytes;
    // Throttle period (migration thread only)
    private long periodStartMs;
    private long periodStartBytes;
    private long dirtyPagesInPeriod;
    private int dirtyRateHighCount;

    // Published figures
    private volatile double bandwidthBytesPerMs;
    private volatile long thresholdBytes;
    private volatile long expectedDowntimeMs;
    private volatile double mbps;
    private volatile double pagesPerSecond;
    private volatile int throttlePercent;
    private volatile long dirtyPagesRate;

    public ConvergenceController(MigrationParameters.Snapshot params, boolean autoConverge, long nowMs,
                                 long bytesSentNow) {
        this.params = params;
        this.autoConverge = autoConverge;
        this.windowStartMs = nowMs;
        this.windowStartBytes = bytesSentNow;
        this.periodStartMs = nowMs;
        this.periodStartBytes = bytesSentNow;
        this.expectedDowntimeMs = params.downtimeLimitMs();
    }

    /**
     * Takes parameters changed while the migration runs (QEMU applies downtime-limit and the throttle
     * settings to a running migration too).
     */
    public void setParameters(MigrationParameters.Snapshot params) {
        this.params = params;
    }

    /**
     * Closes a counter window when at least {@link #UPDATE_PERIOD_MS} passed; returns whether it did.
     *
     * @param bytesSent      total bytes sent by the migration so far
     * @param remainingBytes dirty bytes still to send (for expected downtime)
     */
    public boolean updateCounters(long nowMs, long bytesSent, long remainingBytes) {
        long spentMs = nowMs - windowStartMs;
        if (spentMs < UPDATE_PERIOD_MS) return false;
        long transferred = bytesSent - windowStartBytes;
        double bw = (double) transferred / spentMs;
        bandwidthBytesPerMs = bw;
        thresholdBytes = (long) (bw * params.downtimeLimitMs());
        mbps = transferred * 8.0 / (spentMs / 1000.0) / 1e6;
        pagesPerSecond = transferred / (double) PAGE_SIZE / (spentMs / 1000.0);
        if (transferred > 10_000 && bw > 0) {
            expectedDowntimeMs = (long) (remainingBytes / bw);
        }
        windowStartMs = nowMs;
        windowStartBytes = bytesSent;
        return true;
    }

    /**
     * Whether {@code pendingBytes} can be sent within the downtime limit at the measured bandwidth. Before
     * the first window closes the bandwidth is unknown and only an empty remainder qualifies.
     */
    public boolean canSwitchOver(long pendingBytes) {
        return pendingBytes == 0 || pendingBytes < thresholdBytes;
    }

    /**
     * Accounts one dirty-log sync that found {@code newlyDirtyPages}; at the end of a throttle period,
     * decides whether to raise the throttle. Returns the throttle percentage now in force (0 = none).
     */
    public int onDirtySync(long nowMs, long bytesSent, long newlyDirtyPages) {
        dirtyPagesInPeriod += newlyDirtyPages;
        long periodMs = nowMs - periodStartMs;
        if (periodMs < THROTTLE_PERIOD_MS) return throttlePercent;
        long bytesXferPeriod = bytesSent - periodStartBytes;
        long bytesDirtyPeriod = dirtyPagesInPeriod * PAGE_SIZE;
        long bytesDirtyThreshold = bytesXferPeriod * params.throttleTriggerThresholdPercent() / 100;
        dirtyPagesRate = dirtyPagesInPeriod * 1000 / periodMs;
        if (autoConverge && bytesDirtyPeriod > bytesDirtyThreshold && ++dirtyRateHighCount >= 2) {
            dirtyRateHighCount = 0;
            throttleGuestDown(bytesDirtyPeriod, bytesDirtyThreshold);
        }
        periodStartMs = nowMs;
        periodStartBytes = bytesSent;
        dirtyPagesInPeriod = 0;
        return throttlePercent;
    }

    private void throttleGuestDown(long bytesDirtyPeriod, long bytesDirtyThreshold) {
        int now = throttlePercent;
        int next;
        if (now == 0) {
            next = params.cpuThrottleInitialPercent();
        } else {
            long inc;
            if (!params.cpuThrottleTailslow()) {
                inc = params.cpuThrottleIncrementPercent();
            } else {
                long cpuNow = 100 - now;
                long cpuIdeal = (long) (cpuNow * (bytesDirtyThreshold * 1.0 / bytesDirtyPeriod));
                inc = Math.min(cpuNow - cpuIdeal, params.cpuThrottleIncrementPercent());
            }
            next = (int) Math.min(now + inc, params.maxCpuThrottlePercent());
        }
        throttlePercent = Math.max(1, Math.min(99, next));
    }

    /** The throttle in force, 0 when auto-converge has not kicked in (query-migrate cpu-throttle-percentage). */
    public int throttlePercent() {
        return throttlePercent;
    }

    public long thresholdBytes() {
        return thresholdBytes;
    }

    public long expectedDowntimeMs() {
        return expectedDowntimeMs;
    }

    public double bandwidthBytesPerSec() {
        return bandwidthBytesPerMs * 1000;
    }

    public double mbps() {
        return mbps;
    }

    public double pagesPerSecond() {
        return pagesPerSecond;
    }

    /** Dirty pages per second over the last complete throttle period (query-migrate dirty-pages-rate). */
    public long dirtyPagesRate() {
        return dirtyPagesRate;
    }
}
