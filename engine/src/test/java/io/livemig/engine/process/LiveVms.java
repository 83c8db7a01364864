package io.livemig.engine.process;

import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpClient;
import io.livemig.sys.HostCapabilities;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Helpers for the process-level live-migration tests: A-B guests in child {@code livemig run} processes,
 * driven over QMP. Every wait is bounded; timeouts are generous because the test machine is shared
 * (2 cores), while successes return as soon as the condition holds.
 */
final class LiveVms {
    /** One QMP command (the QMP thread answers at once; generous for a loaded machine). */
    static final Duration T = Duration.ofSeconds(30);
    /** A migration or a failure to be noticed ("within seconds", with slack for a loaded machine). */
    static final Duration SECONDS = Duration.ofSeconds(20);
    static final Duration MIGRATION = Duration.ofSeconds(90);
    static final String MEMORY = "128M";
    /** The spec's marker place: 1 KiB into the page at 3 MiB, which the guest never writes. */
    static final long MARKER_GPA = (3L << 20) + 1024;
    static final long WATCH_GPA = 3L << 20;
    static final long ONE_MIB = 1L << 20;

    private LiveVms() {
    }

    /** {@code kvm} without a usable /dev/kvm: skipped with HostCapabilities' reason. */
    static void assumeMachine(String machine) {
        if (machine.equals("kvm")) {
            var why = HostCapabilities.kvmUnavailable();
            assumeTrue(why.isEmpty(), () -> "KVM variant skipped: " + why.orElse(""));
        }
    }

    /** A running A-B guest ({@code livemig run --machine M --guest ab --memory 128M EXTRA}). */
    static LivemigProcess startGuest(Path dir, String name, String machine, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("--machine", machine, "--guest", "ab", "--memory", MEMORY));
        args.addAll(List.of(extra));
        return LivemigProcess.start(dir, name, args.toArray(String[]::new));
    }

    /** The URI a destination listens on: {@code tcp:127.0.0.1:0} (port read back) or a unix socket in dir. */
    static String incomingUri(Path dir, String transport, String name) {
        return transport.equals("tcp") ? "tcp:127.0.0.1:0" : "unix:" + dir.resolve(name + ".mig");
    }

    /** The URI to migrate to: the destination's bound address from its query-migrate socket-address. */
    static String boundUri(QmpClient dst) throws Exception {
        Map<?, ?> q = query(dst, "query-migrate");
        Map<?, ?> addr = (Map<?, ?>) ((List<?>) q.get("socket-address")).get(0);
        return switch ((String) addr.get("type")) {
            case "inet" -> "tcp:" + addr.get("host") + ":" + addr.get("port");
            case "unix" -> "unix:" + addr.get("path");
            default -> throw new AssertionError("unexpected socket-address " + q);
        };
    }

    static Map<?, ?> query(QmpClient c, String command) throws Exception {
        return (Map<?, ?>) c.execute(command, T);
    }

    static Map<?, ?> migration(QmpClient c) throws Exception {
        return query(c, "query-migrate");
    }

    static Map<?, ?> ram(Map<?, ?> q) {
        return (Map<?, ?>) q.get("ram");
    }

    static String runState(QmpClient c) throws Exception {
        return (String) query(c, "query-status").get("status");
    }

    static void enableEvents(QmpClient c) throws Exception {
        setCapability(c, "events", true);
    }

    static void setCapability(QmpClient c, String name, boolean on) throws Exception {
        c.execute("migrate-set-capabilities", T, "capabilities", List.of(Json.obj("capability", name, "state", on)));
    }

    /** Limits that cannot converge (spec/ab-guest.md: 3,000,000 bytes/s, 1 ms). */
    static void nonConverging(QmpClient c) throws Exception {
        c.execute("migrate-set-parameters", T, "max-bandwidth", 3_000_000L, "downtime-limit", 1L);
    }

    /** Limits that converge at once (1,000,000,000 bytes/s, 30 s). */
    static void converging(QmpClient c) throws Exception {
        c.execute("migrate-set-parameters", T, "max-bandwidth", 1_000_000_000L, "downtime-limit", 30_000L);
    }

    static byte[] readPhys(QmpClient c, long gpa, long size) throws Exception {
        Map<?, ?> r = (Map<?, ?>) c.execute("x-livemig-read-phys", T, "addr", gpa, "size", size);
        return Base64.getDecoder().decode((String) r.get("data"));
    }

    static void writePhys(QmpClient c, long gpa, byte[] data) throws Exception {
        c.execute("x-livemig-write-phys", T, "addr", gpa, "data", Base64.getEncoder().encodeToString(data));
    }

    /** Polls query-migrate until its status is one of {@code wanted}; fails on another final status. */
    static Map<?, ?> awaitMigrationStatus(QmpClient c, Duration timeout, String... wanted) throws Exception {
        Set<String> ok = Set.of(wanted);
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<?, ?> q = Map.of();
        while (System.nanoTime() < deadline) {
            q = migration(c);
            Object s = q.get("status");
            if (ok.contains(s)) return q;
            if (("failed".equals(s) || "cancelled".equals(s) || "completed".equals(s))) {
                throw new AssertionError("migration ended " + s + ", expected " + ok + ": " + q);
            }
            Thread.sleep(25);
        }
        throw new AssertionError("migration status not " + ok + " within " + timeout + ": " + q);
    }

    static void awaitRunState(QmpClient c, String wanted, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String s = null;
        while (System.nanoTime() < deadline) {
            s = runState(c);
            if (s.equals(wanted)) return;
            Thread.sleep(25);
        }
        throw new AssertionError("run state " + s + ", expected " + wanted + " within " + timeout);
    }

    /** Waits until the byte at {@code gpa} differs from {@code before}; returns the new value. */
    static byte awaitByteChange(QmpClient c, long gpa, byte before, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            byte now = readPhys(c, gpa, 1)[0];
            if (now != before) return now;
            Thread.sleep(10);
        }
        throw new AssertionError("byte at 0x" + Long.toHexString(gpa) + " stayed " + before + " for " + timeout);
    }

    /** spec step 2 on its own: the guest runs (byte 0 of the page at 1 MiB changes). */
    static void assertGuestRuns(QmpClient c) throws Exception {
        assertEquals("running", runState(c));
        awaitByteChange(c, ONE_MIB, readPhys(c, ONE_MIB, 1)[0], SECONDS);
    }

    /** x-livemig-ab-check (pauses the guest); asserts consistent and returns the reply. */
    static Map<?, ?> assertConsistent(QmpClient c) throws Exception {
        Map<?, ?> ab = query(c, "x-livemig-ab-check");
        assertEquals(true, ab.get("consistent"), ab.toString());
        assertEquals(0L, ab.get("bad-pages"), ab.toString());
        assertEquals("paused", runState(c), "x-livemig-ab-check leaves the guest paused");
        return ab;
    }

    /** The statuses of the MIGRATION events received so far (consumed), up to and including {@code last}. */
    static List<String> migrationEventsUntil(QmpClient c, String last) throws Exception {
        List<String> seen = new ArrayList<>();
        while (true) {
            Map<?, ?> ev;
            try {
                ev = c.awaitEvent("MIGRATION", SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("no MIGRATION " + last + " event; seen " + seen, e);
            }
            String s = (String) ((Map<?, ?>) ev.get("data")).get("status");
            seen.add(s);
            if (s.equals(last)) return seen;
        }
    }

    /** Migrates src to dst (already listening) with limits that converge quickly; asserts the end states. */
    static void migrateAndComplete(QmpClient src, QmpClient dst, String uri) throws Exception {
        converging(src);
        src.execute("migrate", T, "uri", uri);
        awaitMigrationStatus(src, MIGRATION, "completed");
        assertEquals("postmigrate", runState(src));
        awaitRunState(dst, "running", SECONDS);
    }

    /** A tcp sink that accepts connections and never reads (a peer that stalls the stream). */
    static final class StallingPeer implements AutoCloseable {
        final ServerSocket server;
        private final List<Socket> accepted = new ArrayList<>();
        private final Thread acceptor;

        StallingPeer() throws IOException {
            server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
            acceptor = new Thread(() -> {
                try {
                    while (true) {
                        Socket s = server.accept();
                        synchronized (accepted) {
                            accepted.add(s);
                        }
                    }
                } catch (IOException e) {
                    // closed
                }
            }, "stalling-peer");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        String uri() {
            return "tcp:127.0.0.1:" + server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
            synchronized (accepted) {
                for (Socket s : accepted) s.close();
            }
        }
    }

    static void assertTrueWithin(Duration timeout, String what, java.util.concurrent.Callable<Boolean> cond)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (cond.call()) return;
            Thread.sleep(25);
        }
        assertTrue(cond.call(), what + " within " + timeout);
    }
}
