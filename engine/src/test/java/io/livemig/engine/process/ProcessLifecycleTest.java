package io.livemig.engine.process;

import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class ProcessLifecycleTest {
    private static final Duration T = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    @Test
    void quitRepliesThenExitsZero() throws Exception {
        try (LivemigProcess p = LivemigProcess.start(dir, "q", "--machine", "none", "--memory", "16M", "-S")) {
            try (QmpClient c = p.qmp()) {
                assertEquals("prelaunch", ((Map<?, ?>) c.execute("query-status", T)).get("status"));
                assertEquals(Json.obj(), c.execute("quit", T));
                assertEquals(Json.obj("guest", false, "reason", "host-qmp-quit"), c.awaitEvent("SHUTDOWN", T).get("data"));
                assertTrue(c.awaitDisconnect(T));
            }
            assertEquals(0, p.awaitExit(T), p.output());
            assertFalse(Files.exists(p.qmpSocket), "socket file removed");
        }
    }

    @Test
    void sigtermExitsZero() throws Exception {
        try (LivemigProcess p = LivemigProcess.start(dir, "t", "--machine", "none", "--memory", "16M")) {
            try (QmpClient c = p.qmp()) {
                c.execute("query-status", T);
            }
            p.process.destroy(); // SIGTERM
            assertEquals(0, p.awaitExit(T), p.output());
            assertTrue(p.output().contains("terminating on signal 15"), p.output());
        }
    }

    @Test
    void loadCopiesFileToGuestPhysical() throws Exception {
        byte[] img = new byte[5000];
        for (int i = 0; i < img.length; i++) img[i] = (byte) (i ^ 0x5a);
        Path f = Files.write(dir.resolve("img.bin"), img);
        try (LivemigProcess p = LivemigProcess.start(dir, "l", "--machine", "none", "--memory", "16M",
                "--load", f + "@0x2000");
             QmpClient c = p.qmp()) {
            Path out = dir.resolve("out.bin");
            c.execute("pmemsave", T, "val", 0x2000L, "size", 5000L, "filename", out.toString());
            org.junit.jupiter.api.Assertions.assertArrayEquals(img, Files.readAllBytes(out));
        }
    }

    @Test
    void migrateCancelUnblocksTheMigrationAndResumesTheGuest() throws Exception {
        try (LivemigProcess p = LivemigProcess.start(dir, "c", "--machine", "none", "--memory", "16M");
             QmpClient c = p.qmp()) {
            // Non-zero RAM so the stream is larger than a pipe buffer; the child never reads its stdin.
            byte[] junk = new byte[512 * 1024];
            new java.util.Random(1).nextBytes(junk);
            c.execute("x-livemig-write-phys", T, "addr", 0L, "data", java.util.Base64.getEncoder().encodeToString(junk));
            c.execute("migrate-set-capabilities", T, "capabilities",
                    java.util.List.of(Json.obj("capability", "events", "state", true)));
            c.execute("migrate", T, "uri", "exec:sleep 30");
            c.awaitEvent("STOP", T);
            assertEquals("active", ((Map<?, ?>) c.execute("query-migrate", T)).get("status"));
            QmpClient.QmpException e = org.junit.jupiter.api.Assertions.assertThrows(QmpClient.QmpException.class,
                    () -> c.execute("migrate", T, "uri", "exec:cat > /dev/null"));
            assertEquals("There's a migration process in progress", e.desc());
            c.execute("migrate_cancel", T);
            long deadline = System.nanoTime() + T.toNanos();
            String status;
            do {
                status = (String) ((Map<?, ?>) c.execute("query-migrate", T)).get("status");
                Thread.sleep(20);
            } while (!status.equals("cancelled") && System.nanoTime() < deadline);
            assertEquals("cancelled", status);
            c.awaitEvent("RESUME", T);
            assertEquals("running", ((Map<?, ?>) c.execute("query-status", T)).get("status"));
        }
    }

    @Test
    void failingExecMigrationReportsTheExitStatus() throws Exception {
        try (LivemigProcess p = LivemigProcess.start(dir, "f", "--machine", "none", "--memory", "16M");
             QmpClient c = p.qmp()) {
            c.execute("migrate", T, "uri", "exec:cat > /dev/null; exit 3");
            long deadline = System.nanoTime() + T.toNanos();
            Map<?, ?> q;
            do {
                q = (Map<?, ?>) c.execute("query-migrate", T);
                Thread.sleep(20);
            } while (!"failed".equals(q.get("status")) && System.nanoTime() < deadline);
            assertEquals("failed", q.get("status"), q.toString());
            assertTrue(((String) q.get("error-desc")).contains("exited with status 3"), q.toString());
            assertEquals("running", ((Map<?, ?>) c.execute("query-status", T)).get("status"));
        }
    }

    @Test
    void badCommandLineExitsTwoBeforeAllocating() throws Exception {
        try (LivemigProcess p = LivemigProcess.start(dir, "b", "--machine", "none", "--memory", "12X")) {
            assertEquals(2, p.awaitExit(T));
            assertTrue(p.output().contains("livemig run: --memory '12X'"), p.output());
        }
    }
}
