package io.livemig.engine.migration;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvergenceControllerTest {

    private static MigrationParameters.Snapshot params(Map<String, ?> changes) {
        MigrationParameters p = new MigrationParameters();
        p.apply(changes);
        return p.snapshot();
    }

    @Test
    void thresholdIsBandwidthTimesDowntimeLimit() {
        ConvergenceController c = new ConvergenceController(params(Map.of("downtime-limit", 300L)), false, 0, 0);
        assertFalse(c.updateCounters(50, 1_000_000, 0), "window shorter than 100 ms must not close");
        assertTrue(c.updateCounters(100, 10_000_000, 50_000_000));
        // 10 MB in 100 ms = 100,000 bytes/ms; x 300 ms = 30 MB may be sent during downtime
        assertEquals(30_000_000, c.thresholdBytes());
        assertEquals(500, c.expectedDowntimeMs()); // 50 MB / 100,000 bytes/ms
        assertEquals(800.0, c.mbps(), 1e-9);
        assertTrue(c.canSwitchOver(29_999_999));
        assertFalse(c.canSwitchOver(30_000_000));
    }

    @Test
    void nothingButAnEmptyRemainderSwitchesOverBeforeBandwidthIsKnown() {
        ConvergenceController c = new ConvergenceController(params(Map.of()), false, 0, 0);
        assertTrue(c.canSwitchOver(0));
        assertFalse(c.canSwitchOver(4096));
    }

    @Test
    void autoConvergeStartsAtInitialAfterTwoHighPeriodsThenStepsToTheMaximum() {
        ConvergenceController c = new ConvergenceController(
                params(Map.of("cpu-throttle-initial", 20L, "cpu-throttle-increment", 30L, "max-cpu-throttle", 70L)),
                true, 0, 0);
        long sent = 0;
        long t = 0;
        int[] expected = {0, 20, 20, 50, 50, 70, 70, 70};
        for (int period = 0; period < expected.length; period++) {
            t += 1000;
            sent += 100L << 20;                           // 100 MiB sent per period
            int pct = c.onDirtySync(t, sent, (80L << 20) / 4096); // 80 MiB dirtied: above 50 % of sent
            assertEquals(expected[period], pct, "after period " + period);
        }
    }

    @Test
    void autoConvergeDoesNothingWhenTheGuestDirtiesLessThanTheTrigger() {
        ConvergenceController c = new ConvergenceController(params(Map.of()), true, 0, 0);
        long sent = 0;
        for (int period = 1; period <= 6; period++) {
            sent += 100L << 20;
            assertEquals(0, c.onDirtySync(period * 1000L, sent, (40L << 20) / 4096)); // 40 % < 50 %
        }
        assertEquals((40L << 20) / 4096, c.dirtyPagesRate());
    }

    @Test
    void withoutAutoConvergeTheThrottleStaysOff() {
        ConvergenceController c = new ConvergenceController(params(Map.of()), false, 0, 0);
        for (int period = 1; period <= 6; period++) {
            assertEquals(0, c.onDirtySync(period * 1000L, period * 1000L, 1_000_000));
        }
    }

    @Test
    void tailslowRaisesOnlyAsMuchAsTheDirtyRateNeeds() {
        ConvergenceController c = new ConvergenceController(
                params(Map.of("cpu-throttle-tailslow", true, "cpu-throttle-initial", 20L,
                        "cpu-throttle-increment", 50L)), true, 0, 0);
        long sent = 0;
        long t = 0;
        // two high periods -> initial 20 %
        for (int i = 0; i < 2; i++) {
            t += 1000;
            sent += 100L << 20;
            c.onDirtySync(t, sent, (60L << 20) / 4096);
        }
        assertEquals(20, c.throttlePercent());
        // dirty 60 MiB vs threshold 50 MiB: cpu_now 80, ideal 80*50/60 = 66 -> +14, below the 50 increment
        for (int i = 0; i < 2; i++) {
            t += 1000;
            sent += 100L << 20;
            c.onDirtySync(t, sent, (60L << 20) / 4096);
        }
        assertEquals(34, c.throttlePercent());
    }
}
