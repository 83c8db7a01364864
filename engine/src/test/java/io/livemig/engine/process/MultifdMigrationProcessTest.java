package io.livemig.engine.process;

import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpClient;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Capability {@code multifd} (spec section 3) between real processes over tcp: livemig <-> livemig for
 * none/zlib/zstd with 1, 2, 4 and 16 channels ({@code --machine none}, whole RAM compared), live A-B guest
 * with the consistency check, mismatched settings, a multifd socket cut mid-migration, and QEMU 7.2 <->
 * livemig both ways (skipped with a reason without QEMU).
 */
@Timeout(180)
class MultifdMigrationProcessTest {
    private static final Duration T = Duration.ofSeconds(20);
    private static final Duration MIGRATION_TIMEOUT = Duration.ofSeconds(90);
    private static final Path QEMU = Path.of("/usr/bin/qemu-system-x86_64");
    private static final long PATTERN_GPA = 0x100000;
    private static final String UUID = "6a1b1c2d-3e4f-4a5b-8c6d-7e8f90a1b2c3";

    @TempDir
    Path dir;

    // ---- livemig <-> livemig, --machine none --------------------------------------------------------------

    @ParameterizedTest(name = "{0} x {1}")
    @CsvSource({"none,1", "none,2", "none,4", "none,16", "zlib,1", "zlib,2", "zlib,4", "zlib,16",
            "zstd,1", "zstd,2", "zstd,4", "zstd,16"})
    void livemigToLivemigNonLive(String compression, int channels) throws Exception {
        nonLive(compression, channels, false);
    }

    @Test
    void livemigToLivemigNonLiveOverUnix() throws Exception {
        nonLive("zstd", 4, true);
    }

    private void nonLive(String compression, int channels, boolean unix) throws Exception {
        long ram = 32L << 20;
        try (LivemigProcess src = LivemigProcess.start(dir, "src", "--machine", "none", "--memory", "32M");
             LivemigProcess dst = LivemigProcess.start(dir, "dst", "--machine", "none", "--memory", "32M",
                     "--incoming", "defer");
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            int pages = writePattern(s, ram);
            enableMultifd(s, channels, compression);
            enableMultifd(d, channels, compression);
            if (unix) {
                String uri = "unix:" + dir.resolve("mf.sock");
                d.execute("migrate-incoming", T, "uri", uri);
                migrateAndWait(s, uri);
            } else {
                migrateAndWait(s, "tcp:127.0.0.1:" + listenTcp(d));
            }
            awaitStatus(d, "running");
            assertEquals("postmigrate", status(s));

            Map<?, ?> q = (Map<?, ?>) s.execute("query-migrate", T);
            long multifdBytes = (Long) ((Map<?, ?>) q.get("ram")).get("multifd-bytes");
            Map<?, ?> mf = (Map<?, ?>) q.get("x-livemig-multifd");
            List<?> perChannel = (List<?>) mf.get("channels");
            assertEquals(channels, perChannel.size(), q.toString());
            long sentPages = 0;
            for (Object o : perChannel) {
                Map<?, ?> c = (Map<?, ?>) o;
                // non-live stream: setup EOS, one PART EOS, END EOS -> exactly one SYNC per channel each
                assertEquals(3L, c.get("syncs"), "SYNC packets per channel: " + c);
                sentPages += (Long) c.get("pages");
            }
            assertEquals(pages, sentPages, "every non-zero page went through multifd: " + q);
            assertTrue(multifdBytes >= sentPages * 4096, q.toString());
            Map<?, ?> dq = (Map<?, ?>) ((Map<?, ?>) d.execute("query-migrate", T)).get("x-livemig-multifd");
            long recvPages = 0;
            for (Object o : (List<?>) dq.get("channels")) {
                assertEquals(3L, ((Map<?, ?>) o).get("syncs"), dq.toString());
                recvPages += (Long) ((Map<?, ?>) o).get("pages");
            }
            assertEquals(pages, recvPages, dq.toString());
            assertRamEqual(s, d, ram);
        }
    }

    // ---- live A-B guest --------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0} x {1}")
    @CsvSource({"zstd,4", "none,2"})
    void liveAbGuestOverMultifd(String compression, int channels) throws Exception {
        try (LivemigProcess src = LivemigProcess.start(dir, "jsrc", "--machine", "java", "--guest", "ab",
                "--memory", "128M", "--uuid", UUID);
             LivemigProcess dst = LivemigProcess.start(dir, "jdst", "--machine", "java", "--guest", "ab",
                     "--memory", "128M", "--uuid", UUID, "--incoming", "defer");
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            enableMultifd(s, channels, compression);
            enableMultifd(d, channels, compression);
            s.execute("migrate-set-parameters", T, "max-bandwidth", 4L << 30);
            String port = listenTcp(d);
            migrateAndWait(s, "tcp:127.0.0.1:" + port);
            awaitStatus(d, "running");
            assertEquals("postmigrate", status(s));
            Map<?, ?> q = (Map<?, ?>) s.execute("query-migrate", T);
            Map<?, ?> ramStats = (Map<?, ?>) q.get("ram");
            assertTrue((Long) ramStats.get("multifd-bytes") > 0, q.toString());
            long dirtySyncs = (Long) ramStats.get("dirty-sync-count");
            List<?> perChannel = (List<?>) ((Map<?, ?>) q.get("x-livemig-multifd")).get("channels");
            assertEquals(channels, perChannel.size(), q.toString());
            long syncs = (Long) ((Map<?, ?>) perChannel.get(0)).get("syncs");
            for (Object o : perChannel) assertEquals(syncs, ((Map<?, ?>) o).get("syncs"), q.toString());
            assertTrue(syncs >= 3 && syncs >= dirtySyncs, "one SYNC per RAM EOS: " + q);
            Map<?, ?> ab = (Map<?, ?>) d.execute("x-livemig-ab-check", T);
            assertEquals(true, ab.get("consistent"), ab.toString());
        }
    }

    @Test
    void zeroCopySendOverTcp() throws Exception {
        long ram = 4L << 20; // small enough for the default RLIMIT_MEMLOCK (8 MiB) of test machines
        try (LivemigProcess src = LivemigProcess.start(dir, "src", "--machine", "none", "--memory", "4M");
             LivemigProcess dst = LivemigProcess.start(dir, "dst", "--machine", "none", "--memory", "4M",
                     "--incoming", "defer");
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            byte[] data = new byte[65536];
            new Random(3).nextBytes(data);
            for (long a = PATTERN_GPA; a < PATTERN_GPA + (1 << 20); a += data.length) {
                s.execute("x-livemig-write-phys", T, "addr", a, "data", Base64.getEncoder().encodeToString(data));
            }
            s.execute("migrate-set-capabilities", T, "capabilities", List.of(
                    Json.obj("capability", "multifd", "state", true),
                    Json.obj("capability", "zero-copy-send", "state", true)));
            s.execute("migrate-set-parameters", T, "multifd-channels", 2L);
            enableMultifd(d, 2, "none");
            String port = listenTcp(d);
            s.execute("migrate", T, "uri", "tcp:127.0.0.1:" + port);
            Map<?, ?> q = awaitEnd(s, MIGRATION_TIMEOUT);
            Assumptions.assumeFalse("failed".equals(q.get("status")) && String.valueOf(q.get("error-desc")).contains("RLIMIT_MEMLOCK"),
                    "cannot lock guest RAM here: " + q.get("error-desc"));
            assertEquals("completed", q.get("status"), q.toString());
            awaitStatus(d, "running");
            assertTrue((Long) ((Map<?, ?>) q.get("ram")).get("multifd-bytes") >= (1 << 20), q.toString());
            assertTrue(((Map<?, ?>) q.get("ram")).containsKey("dirty-sync-missed-zero-copy"), q.toString());
            assertRamEqual(s, d, ram);
        }
    }

    // ---- errors ---------------------------------------------------------------------------------------------

    @Test
    void mismatchedCompressionFailsClearlyAndTheSourceKeepsRunning() throws Exception {
        String err = mismatch(2, "zlib", 2, "none");
        assertTrue(err.contains("compression") || err.contains("zlib"), err);
    }

    @Test
    void mismatchedChannelCountFailsClearly() throws Exception {
        String err = mismatch(4, "none", 2, "none");
        assertTrue(err.contains("multifd-channels"), err);
    }

    /** Returns the destination's error (its stderr); checks both sides failed and the source runs. */
    private String mismatch(int srcChannels, String srcComp, int dstChannels, String dstComp) throws Exception {
        try (LivemigProcess src = LivemigProcess.start(dir, "src", "--machine", "none", "--memory", "32M");
             LivemigProcess dst = LivemigProcess.start(dir, "dst", "--machine", "none", "--memory", "32M",
                     "--incoming", "defer");
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            writePattern(s, 32L << 20);
            String before = status(s);
            enableMultifd(s, srcChannels, srcComp);
            enableMultifd(d, dstChannels, dstComp);
            String port = listenTcp(d);
            s.execute("migrate", T, "uri", "tcp:127.0.0.1:" + port);
            Map<?, ?> q = awaitEnd(s, Duration.ofSeconds(30));
            assertEquals("failed", q.get("status"), q.toString());
            assertEquals(before, status(s), "source run state restored");
            assertEquals(1, dst.awaitExit(Duration.ofSeconds(30)), dst.output());
            String out = dst.output();
            assertTrue(out.contains("load of migration failed"), out);
            System.out.println("source error-desc: " + q.get("error-desc"));
            System.out.println("destination: " + out.lines().filter(l -> l.contains("failed")).findFirst().orElse(out));
            return out;
        }
    }

    @Test
    void multifdSocketClosedMidMigrationFailsBothSides() throws Exception {
        try (LivemigProcess src = LivemigProcess.start(dir, "jsrc", "--machine", "java", "--guest", "ab",
                "--memory", "128M");
             LivemigProcess dst = LivemigProcess.start(dir, "jdst", "--machine", "java", "--guest", "ab",
                     "--memory", "128M", "--incoming", "defer");
             QmpClient s = src.qmp();
             QmpClient d = dst.qmp()) {
            enableMultifd(s, 2, "none");
            enableMultifd(d, 2, "none");
            // slow enough that the migration is still running when the socket is cut
            s.execute("migrate-set-parameters", T, "max-bandwidth", 4L << 20);
            String port = listenTcp(d);
            try (CuttingProxy proxy = new CuttingProxy(Integer.parseInt(port), 1, 256 * 1024)) {
                s.execute("migrate", T, "uri", "tcp:127.0.0.1:" + proxy.port());
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!proxy.cut() && System.nanoTime() < deadline) Thread.sleep(20);
                assertTrue(proxy.cut(), "proxy cut the first multifd connection; source: "
                        + s.execute("query-migrate", T));
                long cutAt = System.nanoTime();
                Map<?, ?> q = awaitEnd(s, Duration.ofSeconds(20));
                assertEquals("failed", q.get("status"), q.toString());
                assertTrue(System.nanoTime() - cutAt < Duration.ofSeconds(15).toNanos(), "source failed promptly");
                assertEquals("running", status(s), "the source guest keeps running");
                assertEquals(1, dst.awaitExit(Duration.ofSeconds(15)), dst.output());
                assertTrue(dst.output().contains("load of migration failed"), dst.output());
            }
        }
    }

    // ---- QEMU 7.2 interop ------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0} x {1}")
    @CsvSource({"none,2", "none,4", "zlib,2", "zlib,4", "zstd,2", "zstd,4"})
    void qemuToLivemig(String compression, int channels) throws Exception {
        Path pat = dir.resolve("pattern.bin");
        byte[] p = pattern(pat);
        try (LivemigProcess qemu = startQemu("qemu-src", "-uuid", UUID, "-device",
                "loader,file=" + pat + ",addr=0x" + Long.toHexString(PATTERN_GPA) + ",force-raw=on");
             LivemigProcess lm = LivemigProcess.start(dir, "lm-dst", "--machine", "none", "--memory", "64M",
                     "--uuid", UUID, "--incoming", "defer");
             QmpClient q = qemu.qmp();
             QmpClient l = lm.qmp()) {
            enableMultifd(q, channels, compression);
            enableMultifd(l, channels, compression);
            String port = listenTcp(l);
            q.execute("migrate", T, "uri", "tcp:127.0.0.1:" + port);
            awaitMigration(q);
            awaitStatus(l, "running");
            Path out = dir.resolve("lm-ram.bin");
            l.execute("pmemsave", T, "val", PATTERN_GPA, "size", (long) p.length, "filename", out.toString());
            assertArrayEquals(p, Files.readAllBytes(out), "livemig RAM holds QEMU's loader pattern");
            assertEquals("postmigrate", status(q));
            Map<?, ?> lq = (Map<?, ?>) ((Map<?, ?>) l.execute("query-migrate", T)).get("x-livemig-multifd");
            long pages = 0;
            for (Object o : (List<?>) lq.get("channels")) pages += (Long) ((Map<?, ?>) o).get("pages");
            assertTrue(pages >= p.length / 4096, "pattern pages came through multifd: " + lq);
        }
    }

    @ParameterizedTest(name = "{0} x {1}")
    @CsvSource({"none,2", "none,4", "zlib,2", "zlib,4", "zstd,2", "zstd,4"})
    void livemigToQemu(String compression, int channels) throws Exception {
        Path pat = dir.resolve("pattern.bin");
        byte[] p = pattern(pat);
        try (LivemigProcess qemu = startQemu("qemu-dst", "-incoming", "defer");
             LivemigProcess lm = LivemigProcess.start(dir, "lm-src", "--machine", "none", "--memory", "64M",
                     "--load", pat + "@0x" + Long.toHexString(PATTERN_GPA));
             QmpClient q = qemu.qmp();
             QmpClient l = lm.qmp()) {
            enableMultifd(q, channels, compression);
            enableMultifd(l, channels, compression);
            q.execute("migrate-incoming", T, "uri", "tcp:127.0.0.1:0");
            Map<?, ?> qm = (Map<?, ?>) q.execute("query-migrate", T);
            String port = (String) ((Map<?, ?>) ((List<?>) qm.get("socket-address")).get(0)).get("port");
            migrateAndWait(l, "tcp:127.0.0.1:" + port);
            awaitStatus(q, "running");
            Path out = dir.resolve("qemu-ram.bin");
            q.execute("pmemsave", T, "val", PATTERN_GPA, "size", (long) p.length, "filename", out.toString());
            assertArrayEquals(p, Files.readAllBytes(out), "QEMU RAM holds livemig's pattern");
            assertEquals("postmigrate", status(l));
            Map<?, ?> lq = (Map<?, ?>) l.execute("query-migrate", T);
            assertTrue((Long) ((Map<?, ?>) lq.get("ram")).get("multifd-bytes") >= p.length, lq.toString());
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    private static void enableMultifd(QmpClient c, int channels, String compression) throws Exception {
        c.execute("migrate-set-capabilities", T, "capabilities",
                List.of(Json.obj("capability", "multifd", "state", true)));
        c.execute("migrate-set-parameters", T, "multifd-channels", (long) channels,
                "multifd-compression", compression);
    }

    private static String listenTcp(QmpClient d) throws Exception {
        d.execute("migrate-incoming", T, "uri", "tcp:127.0.0.1:0");
        Map<?, ?> q = (Map<?, ?>) d.execute("query-migrate", T);
        return (String) ((Map<?, ?>) ((List<?>) q.get("socket-address")).get(0)).get("port");
    }

    /**
     * Random pages spread over RAM (first page, 1 MiB, a 1 MiB run, scattered pages, the last page);
     * returns the number of distinct non-zero pages written.
     */
    private static int writePattern(QmpClient c, long ramBytes) throws Exception {
        Random r = new Random(42);
        List<long[]> writes = new ArrayList<>();
        writes.add(new long[]{0, 4096});
        for (long a = PATTERN_GPA; a < PATTERN_GPA + (1 << 20); a += 65536) writes.add(new long[]{a, 65536});
        for (int i = 0; i < 40; i++) writes.add(new long[]{(4L << 20) + i * 5L * 4096 * 13, 4096});
        writes.add(new long[]{ramBytes - 4096, 4096});
        int pages = 0;
        for (long[] w : writes) {
            byte[] data = new byte[(int) w[1]];
            r.nextBytes(data);
            c.execute("x-livemig-write-phys", T, "addr", w[0], "data", Base64.getEncoder().encodeToString(data));
            pages += (int) (w[1] / 4096);
        }
        return pages;
    }

    private void assertRamEqual(QmpClient s, QmpClient d, long ram) throws Exception {
        Path a = dir.resolve("src-ram.bin");
        Path b = dir.resolve("dst-ram.bin");
        s.execute("pmemsave", T, "val", 0L, "size", ram, "filename", a.toString());
        d.execute("pmemsave", T, "val", 0L, "size", ram, "filename", b.toString());
        assertEquals(-1L, Files.mismatch(a, b), "destination RAM equals source RAM");
        assertTrue(Files.readAllBytes(a)[(int) PATTERN_GPA + 7] != 0 || Files.readAllBytes(a)[(int) PATTERN_GPA + 8] != 0,
                "pattern present");
    }

    private LivemigProcess startQemu(String name, String... extra) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(QEMU), "QEMU not installed at " + QEMU + "; QEMU interop skipped");
        Path sock = dir.resolve(name + ".qmp");
        List<String> cmd = new ArrayList<>(List.of(QEMU.toString(), "-M", "none", "-nodefaults", "-display", "none",
                "-m", "64M", "-qmp", "unix:" + sock + ",server=on,wait=off"));
        cmd.addAll(List.of(extra));
        return LivemigProcess.launch(cmd, sock, dir.resolve(name + ".log"));
    }

    private static byte[] pattern(Path file) throws Exception {
        byte[] p = new byte[1 << 20];
        new Random(7).nextBytes(p);
        Files.write(file, p);
        return p;
    }

    private static void migrateAndWait(QmpClient src, String uri) throws Exception {
        src.execute("migrate", T, "uri", uri);
        awaitMigration(src);
    }

    private static void awaitMigration(QmpClient c) throws Exception {
        Map<?, ?> q = awaitEnd(c, MIGRATION_TIMEOUT);
        if (!"completed".equals(q.get("status"))) throw new AssertionError("migration failed: " + q);
    }

    /** Polls query-migrate until completed, failed or cancelled; returns the last reply. */
    private static Map<?, ?> awaitEnd(QmpClient c, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<?, ?> q = null;
        while (System.nanoTime() < deadline) {
            q = (Map<?, ?>) c.execute("query-migrate", T);
            Object st = q.get("status");
            if ("completed".equals(st) || "failed".equals(st) || "cancelled".equals(st)) return q;
            Thread.sleep(50);
        }
        throw new AssertionError("migration did not end within " + timeout + ": " + q);
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

    /**
     * A tcp forwarder to {@code 127.0.0.1:target}; connection number {@code victim} (0 = the main channel)
     * is cut (both directions closed) after it forwarded {@code cutAfter} bytes towards the target.
     */
    private static final class CuttingProxy implements AutoCloseable {
        private final ServerSocketChannel server;
        private final List<SocketChannel> open = new CopyOnWriteArrayList<>();
        private final AtomicInteger connections = new AtomicInteger();
        private volatile boolean cut;

        CuttingProxy(int target, int victim, long cutAfter) throws IOException {
            server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0), 64);
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        SocketChannel in = server.accept();
                        SocketChannel out = SocketChannel.open(new InetSocketAddress("127.0.0.1", target));
                        open.add(in);
                        open.add(out);
                        int n = connections.getAndIncrement();
                        pump(in, out, n == victim ? cutAfter : Long.MAX_VALUE, in);
                        pump(out, in, Long.MAX_VALUE, null);
                    }
                } catch (IOException e) {
                    // closed
                }
            }, "proxy-accept");
            t.setDaemon(true);
            t.start();
        }

        private void pump(SocketChannel from, SocketChannel to, long limit, SocketChannel victimSide) {
            Thread t = new Thread(() -> {
                ByteBuffer b = ByteBuffer.allocate(64 * 1024);
                long done = 0;
                try {
                    while (from.read(b) >= 0) {
                        b.flip();
                        if (done + b.remaining() > limit) {
                            b.limit(b.position() + (int) (limit - done));
                        }
                        while (b.hasRemaining()) done += to.write(b);
                        b.clear();
                        if (done >= limit) {
                            cut = true;
                            from.close();
                            to.close();
                            return;
                        }
                    }
                    to.shutdownOutput();
                } catch (IOException e) {
                    try {
                        to.close();
                    } catch (IOException ignored) {
                        // already gone
                    }
                }
            }, "proxy-pump");
            t.setDaemon(true);
            t.start();
        }

        int port() throws IOException {
            return ((InetSocketAddress) server.getLocalAddress()).getPort();
        }

        boolean cut() {
            return cut;
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (SocketChannel c : open) c.close();
        }
    }
}
