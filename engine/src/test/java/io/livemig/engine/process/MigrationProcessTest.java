package io.livemig.engine.process;

import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpClient;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Non-live migration between real processes: livemig -> livemig over exec, unix and tcp (whole RAM
 * compared), and QEMU 7.2 <-> livemig over unix and exec (skipped with a reason without QEMU).
 */
@Timeout(120)
class MigrationProcessTest {
    private static final Duration T = Duration.ofSeconds(20);
    private static final Duration MIGRATION_TIMEOUT = Duration.ofSeconds(60);
    private static final Path QEMU = Path.of("/usr/bin/qemu-system-x86_64");
    private static final long PATTERN_GPA = 0x100000;

    @TempDir
    Path dir;

    @Test
    void livemigToLivemigOverExec() throws Exception {
        Path stream = dir.resolve("stream.bin");
        livemigToLivemig((src, dst) -> {
            migrateAndWait(src, "exec:cat > " + stream);
            dst.execute("migrate-incoming", T, "uri", "exec:cat " + stream);
        });
    }

    @Test
    void livemigToLivemigOverUnix() throws Exception {
        Path sock = dir.resolve("mig.sock");
        livemigToLivemig((src, dst) -> {
            dst.execute("migrate-incoming", T, "uri", "unix:" + sock);
            migrateAndWait(src, "unix:" + sock);
        });
    }

    @Test
    void livemigToLivemigOverTcpWithPortZero() throws Exception {
        livemigToLivemig((src, dst) -> {
            dst.execute("migrate-incoming", T, "uri", "tcp:127.0.0.1:0");
            Map<?, ?> q = (Map<?, ?>) dst.execute("query-migrate", T);
            Map<?, ?> addr = (Map<?, ?>) ((List<?>) q.get("socket-address")).get(0);
            String port = (String) addr.get("port");
            assertTrue(Integer.parseInt(port) > 0, q.toString());
            migrateAndWait(src, "tcp:127.0.0.1:" + port);
        });
    }

    @Test
    void livemigToLivemigWithIncomingUriOnTheCommandLine() throws Exception {
        Path sock = dir.resolve("cmdline.sock");
        livemigToLivemig((src, dst) -> {
            Map<?, ?> q = (Map<?, ?>) dst.execute("query-migrate", T);
            assertEquals("unix", ((Map<?, ?>) ((List<?>) q.get("socket-address")).get(0)).get("type"), q.toString());
            migrateAndWait(src, "unix:" + sock);
        }, "--incoming", "unix:" + sock);
    }

    @FunctionalInterface
    private interface Transfer {
        void run(QmpClient src, QmpClient dst) throws Exception;
    }

    private void livemigToLivemig(Transfer transfer) throws Exception {
        livemigToLivemig(transfer, "--incoming", "defer");
    }

    private void livemigToLivemig(Transfer transfer, String... incoming) throws Exception {
        List<String> dstArgs = new ArrayList<>(List.of("--machine", "none", "--memory", "32M"));
        dstArgs.addAll(List.of(incoming));
        try (LivemigProcess src = LivemigProcess.start(dir, "src", "--machine", "none", "--memory", "32M");
             LivemigProcess dst = LivemigProcess.start(dir, "dst", dstArgs.toArray(String[]::new));
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            writeScatteredPattern(s, 32L << 20);
            s.execute("migrate-set-capabilities", T, "capabilities",
                    List.of(Json.obj("capability", "events", "state", true)));
            assertEquals("inmigrate", status(d));
            transfer.run(s, d);
            awaitStatus(d, "running");
            assertEquals("postmigrate", status(s));
            List<String> seen = new ArrayList<>();
            for (String expected : List.of("setup", "active", "completed")) {
                Map<?, ?> ev = s.awaitEvent("MIGRATION", T);
                seen.add((String) ((Map<?, ?>) ev.get("data")).get("status"));
            }
            assertEquals(List.of("setup", "active", "completed"), seen);
            Path a = dir.resolve("src-ram.bin");
            Path b = dir.resolve("dst-ram.bin");
            s.execute("pmemsave", T, "val", 0L, "size", 32L << 20, "filename", a.toString());
            d.execute("pmemsave", T, "val", 0L, "size", 32L << 20, "filename", b.toString());
            assertEquals(-1L, Files.mismatch(a, b), "destination RAM equals source RAM");
            assertTrue(Files.readAllBytes(a)[(int) PATTERN_GPA] != 0, "pattern present");
        }
    }

    /** A pattern in several places (first page, 1 MiB, a run, the last page) so offsets matter. */
    private static void writeScatteredPattern(QmpClient c, long ramBytes) throws Exception {
        Random r = new Random(42);
        long[] addrs = {0, PATTERN_GPA, 0x345000, ramBytes - 4096};
        for (long addr : addrs) {
            byte[] data = new byte[addr == PATTERN_GPA ? 65536 : 4096];
            r.nextBytes(data);
            c.execute("x-livemig-write-phys", T, "addr", addr, "data", Base64.getEncoder().encodeToString(data));
        }
    }

    private static void migrateAndWait(QmpClient src, String uri) throws Exception {
        src.execute("migrate", T, "uri", uri);
        awaitMigration(src);
    }

    /** Polls query-migrate until completed; fails on failed, or after the timeout. */
    private static void awaitMigration(QmpClient c) throws Exception {
        long deadline = System.nanoTime() + MIGRATION_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            Map<?, ?> q = (Map<?, ?>) c.execute("query-migrate", T);
            if ("completed".equals(q.get("status"))) return;
            if ("failed".equals(q.get("status"))) throw new AssertionError("migration failed: " + q);
            Thread.sleep(50);
        }
        throw new AssertionError("migration not completed within " + MIGRATION_TIMEOUT);
    }

    private static String status(QmpClient c) throws Exception {
        return (String) ((Map<?, ?>) c.execute("query-status", T)).get("status");
    }

    private static void awaitStatus(QmpClient c, String expected) throws Exception {
        long deadline = System.nanoTime() + MIGRATION_TIMEOUT.toNanos();
        String s = null;
        while (System.nanoTime() < deadline) {
            s = status(c);
            if (s.equals(expected)) return;
            Thread.sleep(50);
        }
        throw new AssertionError("status " + s + ", expected " + expected + " within " + MIGRATION_TIMEOUT);
    }

    @Test
    void javaMachineMigratesLiveWithItsVcpuState() throws Exception {
        Path srcSerial = dir.resolve("src.serial");
        Path dstSerial = dir.resolve("dst.serial");
        Path sock = dir.resolve("live.sock");
        try (LivemigProcess src = LivemigProcess.start(dir, "jsrc", "--machine", "java", "--memory", "128M",
                "--serial", "file:" + srcSerial);
             LivemigProcess dst = LivemigProcess.start(dir, "jdst", "--machine", "java", "--memory", "128M",
                     "--serial", "file:" + dstSerial, "--incoming", "defer");
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            s.execute("migrate-set-capabilities", T, "capabilities",
                    List.of(Json.obj("capability", "events", "state", true)));
            s.execute("migrate-set-parameters", T, "max-bandwidth", 4L << 30);
            d.execute("migrate-incoming", T, "uri", "unix:" + sock);
            migrateAndWait(s, "unix:" + sock);
            awaitStatus(d, "running");
            assertEquals("postmigrate", status(s));
            Map<?, ?> q = (Map<?, ?>) s.execute("query-migrate", T);
            assertTrue(((Long) ((Map<?, ?>) q.get("ram")).get("dirty-sync-count")) >= 1, q.toString());
            List<String> statuses = new ArrayList<>();
            while (true) {
                String st = (String) ((Map<?, ?>) s.awaitEvent("MIGRATION", T).get("data")).get("status");
                statuses.add(st);
                if (st.equals("completed")) break;
            }
            assertEquals(List.of("setup", "active", "device", "completed"), statuses);
            Map<?, ?> machine = (Map<?, ?>) d.execute("x-livemig-query-machine", T);
            assertEquals("java", machine.get("accelerator"), machine.toString());
            assertEquals("software", machine.get("dirty-track"), machine.toString());
            // the guest goes on running on the destination: its serial output grows
            long before = Files.size(dstSerial);
            long deadline = System.nanoTime() + T.toNanos();
            while (Files.size(dstSerial) == before && System.nanoTime() < deadline) Thread.sleep(50);
            assertTrue(Files.size(dstSerial) > before, "destination guest writes serial output");
            Map<?, ?> ab = (Map<?, ?>) d.execute("x-livemig-ab-check", T);
            assertEquals(true, ab.get("consistent"), ab.toString());
            assertEquals("paused", status(d));
        }
    }

    // ---- QEMU 7.2 as peer -------------------------------------------------------------------------------

    private LivemigProcess startQemu(String name, String... extra) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(QEMU), "QEMU not installed at " + QEMU + "; QEMU interop skipped");
        Path sock = dir.resolve(name + ".qmp");
        List<String> cmd = new ArrayList<>(List.of(QEMU.toString(), "-M", "none", "-nodefaults", "-display", "none",
                "-m", "64M", "-qmp", "unix:" + sock + ",server=on,wait=off"));
        cmd.addAll(List.of(extra));
        return LivemigProcess.launch(cmd, sock, dir.resolve(name + ".log"));
    }

    private byte[] pattern(Path file) throws Exception {
        byte[] p = new byte[256 * 1024];
        new Random(7).nextBytes(p);
        Files.write(file, p);
        return p;
    }

    @Test
    void qemuToLivemigOverUnix() throws Exception {
        qemuToLivemig((q, l) -> {
            Path sock = dir.resolve("q2l.sock");
            l.execute("migrate-incoming", T, "uri", "unix:" + sock);
            q.execute("migrate", T, "uri", "unix:" + sock);
            awaitMigration(q);
        });
    }

    @Test
    void qemuToLivemigOverExec() throws Exception {
        qemuToLivemig((q, l) -> {
            Path f = dir.resolve("qemu-stream.bin");
            q.execute("migrate", T, "uri", "exec:cat > " + f);
            awaitMigration(q);
            l.execute("migrate-incoming", T, "uri", "exec:cat " + f);
        });
    }

    private void qemuToLivemig(Transfer transfer) throws Exception {
        Path pat = dir.resolve("pattern.bin");
        byte[] p = pattern(pat);
        try (LivemigProcess qemu = startQemu("qemu-src", "-device",
                "loader,file=" + pat + ",addr=0x" + Long.toHexString(PATTERN_GPA) + ",force-raw=on");
             LivemigProcess lm = LivemigProcess.start(dir, "lm-dst", "--machine", "none", "--memory", "64M",
                     "--incoming", "defer");
             QmpClient q = qemu.qmp();
             QmpClient l = lm.qmp()) {
            transfer.run(q, l);
            awaitStatus(l, "running");
            Path out = dir.resolve("lm-ram.bin");
            l.execute("pmemsave", T, "val", PATTERN_GPA, "size", (long) p.length, "filename", out.toString());
            assertArrayEquals(p, Files.readAllBytes(out), "livemig RAM holds QEMU's loader pattern");
            assertEquals("postmigrate", status(q));
        }
    }

    @Test
    void livemigToQemuOverUnix() throws Exception {
        livemigToQemu((l, q) -> {
            Path sock = dir.resolve("l2q.sock");
            q.execute("migrate-incoming", T, "uri", "unix:" + sock);
            migrateAndWait(l, "unix:" + sock);
        });
    }

    @Test
    void livemigToQemuOverExec() throws Exception {
        livemigToQemu((l, q) -> {
            Path f = dir.resolve("lm-stream.bin");
            migrateAndWait(l, "exec:cat > " + f);
            q.execute("migrate-incoming", T, "uri", "exec:cat " + f);
        });
    }

    private void livemigToQemu(Transfer transfer) throws Exception {
        Path pat = dir.resolve("pattern.bin");
        byte[] p = pattern(pat);
        try (LivemigProcess qemu = startQemu("qemu-dst", "-incoming", "defer");
             LivemigProcess lm = LivemigProcess.start(dir, "lm-src", "--machine", "none", "--memory", "64M",
                     "--load", pat + "@0x" + Long.toHexString(PATTERN_GPA));
             QmpClient q = qemu.qmp();
             QmpClient l = lm.qmp()) {
            transfer.run(l, q);
            awaitStatus(q, "running");
            Path out = dir.resolve("qemu-ram.bin");
            q.execute("pmemsave", T, "val", PATTERN_GPA, "size", (long) p.length, "filename", out.toString());
            assertArrayEquals(p, Files.readAllBytes(out), "QEMU RAM holds livemig's pattern");
            assertEquals("postmigrate", status(l));
        }
    }
}
