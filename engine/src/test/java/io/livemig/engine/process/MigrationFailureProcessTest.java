package io.livemig.engine.process;

import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.livemig.engine.process.LiveVms.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The unhappy paths of a live migration between processes: migrate_cancel in setup, active and
 * pre-switchover (the source ends cancelled, still running, and migrates fine afterwards); a destination or
 * source killed mid-stream; bad QMP arguments with QEMU's messages.
 *
 * <p>A livemig destination whose incoming migration fails exits with status 1 after printing
 * "load of migration failed: CAUSE", as QEMU's does (MigrationManager.runIncoming): the tests assert that,
 * since its query-migrate shows "failed" only for the instant before the exit.
 */
@Timeout(180)
class MigrationFailureProcessTest {
    @TempDir
    Path dir;

    // ---- migrate_cancel in each state ---------------------------------------------------------------------

    /** A peer that accepts and never reads: cancelled right after migrate returns (setup) or blocked in active. */
    @Test
    void cancelInSetupWithAStalledPeer() throws Exception {
        try (LivemigProcess src = startGuest(dir, "src", "java");
             QmpClient s = src.qmp();
             StallingPeer peer = new StallingPeer()) {
            enableEvents(s);
            s.execute("migrate", T, "uri", peer.uri());
            s.execute("migrate_cancel", T);
            assertCancelledAndUnharmed(s);
            List<String> events = migrationEventsUntil(s, "cancelled");
            assertEquals("setup", events.get(0), events.toString());
            assertTrue(events.contains("cancelling"), events.toString());
            migrateOnceMore(s);
        }
    }

    @Test
    void cancelWhileActive() throws Exception {
        try (LivemigProcess src = startGuest(dir, "src", "java");
             LivemigProcess dst = startGuest(dir, "dst", "java", "--incoming", "tcp:127.0.0.1:0");
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            enableEvents(s);
            nonConverging(s);
            s.execute("migrate", T, "uri", boundUri(d));
            awaitMigrationStatus(s, SECONDS, "active");
            assertTrueWithin(SECONDS, "RAM flowing", () -> (Long) ram(migration(s)).get("transferred") > 100_000);
            s.execute("migrate_cancel", T);
            assertCancelledAndUnharmed(s);
            assertEquals(List.of("setup", "active", "cancelling", "cancelled"), migrationEventsUntil(s, "cancelled"));
            assertDestinationFailed(dst);
            migrateOnceMore(s);
        }
    }

    @Test
    void cancelInPreSwitchover() throws Exception {
        try (LivemigProcess src = startGuest(dir, "src", "java");
             LivemigProcess dst = startGuest(dir, "dst", "java", "--incoming", incomingUri(dir, "unix", "dst"));
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            setCapability(s, "pause-before-switchover", true);
            converging(s);
            s.execute("migrate", T, "uri", boundUri(d));
            awaitMigrationStatus(s, MIGRATION, "pre-switchover");
            assertEquals("finish-migrate", runState(s), "vCPUs stopped while waiting for migrate-continue");
            s.execute("migrate_cancel", T);
            assertCancelledAndUnharmed(s);
            assertDestinationFailed(dst);
            setCapability(s, "pause-before-switchover", false);
            migrateOnceMore(s);
        }
    }

    /** Source side after a cancel: cancelled, running, the guest really advances. */
    private static void assertCancelledAndUnharmed(QmpClient s) throws Exception {
        assertTrueWithin(SECONDS, "source migration cancelled", () -> "cancelled".equals(migration(s).get("status")));
        awaitRunState(s, "running", SECONDS);
        assertGuestRuns(s);
    }

    /** The source is unharmed: a second migration to a fresh destination completes and checks consistent. */
    private void migrateOnceMore(QmpClient s) throws Exception {
        try (LivemigProcess dst2 = startGuest(dir, "dst2", "java", "--incoming", "tcp:127.0.0.1:0");
             QmpClient d2 = dst2.qmp()) {
            migrateAndComplete(s, d2, boundUri(d2));
            assertConsistent(d2);
        }
    }

    /** A livemig destination whose stream broke: failed, the cause printed, exit status 1 (as QEMU). */
    private static void assertDestinationFailed(LivemigProcess dst) throws Exception {
        int code = dst.awaitExit(SECONDS);
        assertEquals(1, code, dst.output());
        String out = dst.output();
        int at = out.indexOf("load of migration failed: ");
        assertTrue(at >= 0, out);
        assertTrue(out.length() > at + "load of migration failed: ".length() + 3, "with the cause: " + out);
    }

    // ---- a peer killed mid-stream --------------------------------------------------------------------------

    @Test
    void destinationKilledMidStreamFailsTheSourceWhichKeepsRunning() throws Exception {
        try (LivemigProcess src = startGuest(dir, "src", "java");
             LivemigProcess dst = startGuest(dir, "dst", "java", "--incoming", "tcp:127.0.0.1:0");
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            enableEvents(s);
            nonConverging(s);
            s.execute("migrate", T, "uri", boundUri(d));
            awaitMigrationStatus(s, SECONDS, "active");
            assertTrueWithin(SECONDS, "RAM flowing", () -> (Long) ram(migration(s)).get("transferred") > 100_000);
            dst.process.destroyForcibly();
            assertTrue(dst.process.waitFor(SECONDS.toSeconds(), TimeUnit.SECONDS));
            long killedAt = System.nanoTime();
            Map<?, ?> q = awaitMigrationStatus(s, SECONDS, "failed");
            long tookMs = (System.nanoTime() - killedAt) / 1_000_000;
            assertTrue(tookMs < 10_000, "noticed within seconds: " + tookMs + " ms");
            String why = (String) q.get("error-desc");
            assertNotNull(why, q.toString());
            String lower = why.toLowerCase(Locale.ROOT);
            assertTrue(lower.contains("pipe") || lower.contains("reset") || lower.contains("connection")
                    || lower.contains("closed"), "error-desc names the connection: " + why);
            assertEquals(List.of("setup", "active", "failed"), migrationEventsUntil(s, "failed"));
            awaitRunState(s, "running", SECONDS);
            assertGuestRuns(s);
            migrateOnceMore(s);
        }
    }

    @Test
    void sourceKilledMidStreamFailsTheDestination() throws Exception {
        try (LivemigProcess src = startGuest(dir, "src", "java");
             LivemigProcess dst = startGuest(dir, "dst", "java", "--incoming", incomingUri(dir, "unix", "dst"));
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            nonConverging(s);
            s.execute("migrate", T, "uri", boundUri(d));
            assertTrueWithin(SECONDS, "destination receiving", () -> "active".equals(migration(d).get("status")));
            src.process.destroyForcibly();
            long killedAt = System.nanoTime();
            assertDestinationFailed(dst);
            assertTrue((System.nanoTime() - killedAt) / 1_000_000 < 10_000, "noticed within seconds");
        }
    }

    // ---- bad QMP arguments -------------------------------------------------------------------------------

    @Test
    void badMigrationArgumentsGetQemusErrors() throws Exception {
        try (LivemigProcess src = startGuest(dir, "src", "java");
             QmpClient s = src.qmp();
             StallingPeer peer = new StallingPeer()) {
            assertQmpError(s, "Parameter 'uri' is missing", "migrate");
            assertQmpError(s, "Parameter 'uri' expects a valid migration protocol", "migrate", "uri", "bogus:thing");
            assertEquals("failed", migration(s).get("status"), "QEMU marks the attempt failed");
            assertEquals("running", runState(s));
            assertQmpError(s, "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms",
                    "migrate-set-parameters", "downtime-limit", 2_000_001L);
            assertQmpError(s, "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99",
                    "migrate-set-parameters", "cpu-throttle-initial", 100L);
            assertEquals(300L, query(s, "query-migrate-parameters").get("downtime-limit"), "nothing changed");
            assertQmpError(s, "Parameter 'capability' does not accept value 'no-such-capability'",
                    "migrate-set-capabilities", "capabilities",
                    List.of(Json.obj("capability", "no-such-capability", "state", true)));
            assertQmpError(s, "'-incoming' was not specified on the command line", "migrate-incoming",
                    "uri", "tcp:127.0.0.1:0");
            assertQmpError(s, "Migration not in expected state: failed", "migrate-continue", "state", "pre-switchover");

            nonConverging(s);
            s.execute("migrate", T, "uri", peer.uri());
            awaitMigrationStatus(s, SECONDS, "active");
            assertQmpError(s, "There's a migration process in progress", "migrate", "uri", peer.uri());
            assertQmpError(s, "Migration not in expected state: active", "migrate-continue", "state", "pre-switchover");
            assertQmpError(s, "There's a migration process in progress", "migrate-set-capabilities", "capabilities",
                    List.of(Json.obj("capability", "events", "state", true)));
            s.execute("migrate_cancel", T);
            assertCancelledAndUnharmed(s);
        }
    }

    private static void assertQmpError(QmpClient c, String desc, String command, Object... args) {
        QmpClient.QmpException e = assertThrows(QmpClient.QmpException.class, () -> c.execute(command, T, args),
                command + " must fail");
        assertEquals("GenericError", e.errorClass(), e.toString());
        assertEquals(desc, e.desc(), command);
    }
}
