package io.livemig.engine.process;

import io.livemig.engine.qmp.QmpClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.livemig.engine.process.LiveVms.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Live migration of the A-B guest between two {@code livemig run} processes: the re-dirty proof of
 * spec/ab-guest.md (java and kvm machines, tcp and unix; kvm skipped without /dev/kvm), query-migrate's
 * fields, the MIGRATION / MIGRATION_PASS events, and a five-hop ping-pong with the consistency check
 * after every hop.
 */
@Timeout(240)
class LiveMigrationProcessTest {
    private static final byte[] MARKER = "LIVEMIG!".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} over {1}")
    @CsvSource({"java, tcp", "java, unix", "kvm, tcp", "kvm, unix"})
    void reDirtiedPagesAreResentAndTheGuestStaysConsistent(String machine, String transport) throws Exception {
        assumeMachine(machine);
        try (LivemigProcess src = startGuest(dir, "src", machine);
             LivemigProcess dst = startGuest(dir, "dst", machine, "--incoming", incomingUri(dir, transport, "dst"));
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            enableEvents(s);
            assertEquals("inmigrate", runState(d));
            String uri = boundUri(d);
            assertTrue(uri.startsWith(transport + ":"), uri);

            // 1. limits that cannot converge
            nonConverging(s);
            s.execute("migrate", T, "uri", uri);
            // 2. a marker written by livemig itself (not the guest); the first pass carries it across
            writePhys(s, MARKER_GPA, MARKER);
            assertTrueWithin(MIGRATION, "destination holds the marker (first pass reached 3 MiB)",
                    () -> java.util.Arrays.equals(MARKER, readPhys(d, MARKER_GPA, MARKER.length)));
            // 3. the guest dirties that page again after it was sent
            awaitByteChange(s, WATCH_GPA, readPhys(s, WATCH_GPA, 1)[0], SECONDS);
            Map<?, ?> active = migration(s);
            assertEquals("active", active.get("status"), "non-converging limits keep the migration active: " + active);
            assertActiveFields(active);
            // 4. now let it converge
            converging(s);
            Map<?, ?> done = awaitMigrationStatus(s, MIGRATION, "completed");
            assertEquals("postmigrate", runState(s));
            awaitRunState(d, "running", SECONDS);
            assertCompletedFields(done);

            assertEquals(List.of("setup", "active", "device", "completed"), migrationEventsUntil(s, "completed"));
            List<Long> passes = new ArrayList<>();
            for (Map<String, Object> ev : s.pendingEvents()) {
                if ("MIGRATION_PASS".equals(ev.get("event"))) passes.add((Long) ((Map<?, ?>) ev.get("data")).get("pass"));
            }
            long syncs = (Long) ram(done).get("dirty-sync-count");
            List<Long> expected = new ArrayList<>();
            for (long p = 1; p <= syncs; p++) expected.add(p);
            assertEquals(expected, passes, "one MIGRATION_PASS per dirty sync, numbered from 1");

            // 5. the consistency check on the destination (source finished: postmigrate)
            assertArrayEquals(MARKER, readPhys(d, MARKER_GPA, MARKER.length), "marker survived");
            assertConsistent(d);
        }
    }

    /** The fields QEMU 7.2 shows while active, with values that make sense mid-migration. */
    private static void assertActiveFields(Map<?, ?> q) {
        for (String k : List.of("status", "total-time", "setup-time", "expected-downtime", "ram")) {
            assertTrue(q.containsKey(k), k + " in " + q);
        }
        assertFalse(q.containsKey("downtime"), "downtime only once completed: " + q);
        assertFalse(q.containsKey("xbzrle-cache"), "xbzrle-cache only with the xbzrle capability: " + q);
        assertFalse(q.containsKey("cpu-throttle-percentage"), "no throttle without auto-converge: " + q);
        assertTrue((Long) q.get("expected-downtime") >= 0, q.toString());
        Map<?, ?> ram = ram(q);
        assertRamFields(ram);
        assertTrue((Long) ram.get("remaining") > 0, "pages still to send while active: " + q);
        assertTrue((Long) ram.get("dirty-sync-count") >= 1, q.toString());
        assertTrue((Long) ram.get("transferred") > 0, q.toString());
        // 3,000,000 bytes/s: far below what an unlimited run would show
        assertTrue((Double) ram.get("mbps") < 100.0, "rate limit honoured: " + q);
    }

    private static void assertCompletedFields(Map<?, ?> q) {
        for (String k : List.of("status", "total-time", "setup-time", "downtime", "ram")) {
            assertTrue(q.containsKey(k), k + " in " + q);
        }
        assertFalse(q.containsKey("expected-downtime"), "QEMU shows expected-downtime only while active: " + q);
        long total = (Long) q.get("total-time");
        long setup = (Long) q.get("setup-time");
        long downtime = (Long) q.get("downtime");
        assertTrue(setup >= 0 && setup <= total, q.toString());
        assertTrue(downtime >= 0 && downtime <= total, q.toString());
        Map<?, ?> ram = ram(q);
        assertRamFields(ram);
        assertEquals(128L << 20, ram.get("total"));
        assertEquals(0L, ram.get("remaining"), q.toString());
        assertTrue((Long) ram.get("dirty-sync-count") >= 2, "at least the first pass and the final sync: " + q);
        // every page went at least once (as a zero or a normal page); the re-dirtied ones again
        long pages = (Long) ram.get("duplicate") + (Long) ram.get("normal");
        assertTrue(pages >= (128L << 20) / 4096, "every page sent at least once: " + q);
        assertTrue((Long) ram.get("transferred") >= (Long) ram.get("normal-bytes"), q.toString());
        assertTrue((Long) ram.get("downtime-bytes") > 0, "last pages and devices during the downtime: " + q);
        assertEquals((Long) ram.get("transferred"), (Long) ram.get("precopy-bytes") + (Long) ram.get("downtime-bytes"),
                q.toString());
    }

    private static void assertRamFields(Map<?, ?> ram) {
        for (String k : List.of("total", "transferred", "remaining", "duplicate", "normal", "normal-bytes",
                "dirty-sync-count", "dirty-pages-rate", "mbps", "pages-per-second", "precopy-bytes", "downtime-bytes")) {
            assertTrue(ram.containsKey(k), k + " in " + ram);
        }
        assertEquals((Long) ram.get("normal") * 4096, ram.get("normal-bytes"), ram.toString());
        assertTrue((Long) ram.get("transferred") >= (Long) ram.get("normal-bytes"), ram.toString());
        for (String k : List.of("duplicate", "normal", "dirty-pages-rate", "pages-per-second", "precopy-bytes",
                "downtime-bytes")) {
            assertTrue((Long) ram.get(k) >= 0, k + " >= 0: " + ram);
        }
        assertTrue((Double) ram.get("mbps") >= 0, ram.toString());
    }

    /**
     * The same guest A -> B -> A' -> B' -> ... : five hops, each to a fresh destination process, the old
     * source quitting. After each hop the destination is checked (which pauses it) and continued before the
     * next hop; a marker written before the first hop must arrive at the end.
     */
    @Test
    void pingPongFiveTimes() throws Exception {
        List<LivemigProcess> all = new ArrayList<>();
        try {
            LivemigProcess current = startGuest(dir, "vm0", "java");
            all.add(current);
            QmpClient cur = current.qmp();
            writePhys(cur, MARKER_GPA, MARKER);
            for (int hop = 1; hop <= 5; hop++) {
                LivemigProcess next = startGuest(dir, "vm" + hop, "java", "--incoming",
                        incomingUri(dir, hop % 2 == 0 ? "unix" : "tcp", "vm" + hop));
                all.add(next);
                QmpClient nxt = next.qmp();
                assertGuestRuns(cur);
                migrateAndComplete(cur, nxt, boundUri(nxt));
                cur.execute("quit", T);
                assertEquals(0, current.awaitExit(SECONDS), "old source quits cleanly, hop " + hop);
                cur.close();
                Map<?, ?> ab = assertConsistent(nxt);
                assertArrayEquals(MARKER, readPhys(nxt, MARKER_GPA, MARKER.length), "marker after hop " + hop + " " + ab);
                nxt.execute("cont", T);
                assertGuestRuns(nxt);
                current = next;
                cur = nxt;
            }
            assertNotEquals(0, all.size());
            cur.close();
        } finally {
            for (LivemigProcess p : all) p.close();
        }
    }
}
