package io.livemig.engine.migration;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One consistent snapshot of a migration's figures, in QEMU's units (bytes, pages, ms, Mbit/s), built by
 * the migration thread and read by the QMP thread.
 *
 * @param throttlePercent -1 when auto-converge is off (then query-migrate omits cpu-throttle-percentage)
 * @param setupTimeMs     -1 until setup finished
 * @param downtimeMs      -1 until the switchover finished
 */
public record MigrationStats(long totalBytes, long remainingBytes, long transferredBytes, long duplicatePages,
                             long normalPages, long normalBytes, long dirtySyncCount, long dirtyPagesRate,
                             double mbps, double pagesPerSecond, long precopyBytes, long downtimeBytes,
                             long totalTimeMs, long setupTimeMs, long downtimeMs, long expectedDowntimeMs,
                             boolean xbzrle, long xbzrleCacheSizeBytes, long xbzrlePages, long xbzrleOverflow,
                             int throttlePercent, String throttleUnsupported) {

    public static final MigrationStats EMPTY = new MigrationStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 0,
            false, 0, 0, 0, -1, null);

    /**
     * query-migrate's reply for a migration in {@code status}, with the fields QEMU 7.2 shows in that
     * state (setup: status only; active: times, expected downtime, ram; completed: downtime instead of
     * expected downtime).
     */
    public Map<String, Object> toQmp(MigrationStatus status) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status.qapiName());
        if (status == MigrationStatus.NONE || status == MigrationStatus.SETUP) return m;
        m.put("total-time", totalTimeMs);
        if (setupTimeMs >= 0) m.put("setup-time", setupTimeMs);
        if (status == MigrationStatus.COMPLETED) {
            m.put("downtime", Math.max(0, downtimeMs));
        } else if (status.isActive()) {
            m.put("expected-downtime", expectedDowntimeMs);
        }
        Map<String, Object> ram = new LinkedHashMap<>();
        ram.put("transferred", transferredBytes);
        ram.put("remaining", remainingBytes);
        ram.put("total", totalBytes);
        ram.put("duplicate", duplicatePages);
        ram.put("skipped", 0L);
        ram.put("normal", normalPages);
        ram.put("normal-bytes", normalBytes);
        ram.put("dirty-sync-count", dirtySyncCount);
        ram.put("page-size", 4096L);
        ram.put("multifd-bytes", 0L);
        ram.put("pages-per-second", (long) pagesPerSecond);
        ram.put("dirty-pages-rate", dirtyPagesRate);
        ram.put("mbps", mbps);
        ram.put("postcopy-requests", 0L);
        ram.put("precopy-bytes", precopyBytes);
        ram.put("downtime-bytes", downtimeBytes);
        ram.put("postcopy-bytes", 0L);
        ram.put("dirty-sync-missed-zero-copy", 0L);
        m.put("ram", ram);
        if (xbzrle) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("cache-size", xbzrleCacheSizeBytes);
            x.put("pages", xbzrlePages);
            x.put("overflow", xbzrleOverflow);
            m.put("xbzrle-cache", x);
        }
        if (throttlePercent > 0 && status.isActive()) m.put("cpu-throttle-percentage", (long) throttlePercent);
        return m;
    }
}
