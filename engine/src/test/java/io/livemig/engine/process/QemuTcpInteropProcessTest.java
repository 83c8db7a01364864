package io.livemig.engine.process;

import io.livemig.engine.qmp.QmpClient;
import io.livemig.engine.stream.TestPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.livemig.engine.process.LiveVms.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * livemig {@code --machine none} and QEMU 7.2 {@code -M none} as migration peers over tcp, both directions,
 * each side running while it migrates (skipped with a reason without QEMU). The destination listens on
 * port 0 and the source reads the bound port from the destination's query-migrate, so no port is guessed.
 * The whole 64 MiB of the destination is compared: TestPattern at 1 MiB, zero elsewhere.
 */
@Timeout(120)
class QemuTcpInteropProcessTest {
    private static final String PATTERN_AT = "0x" + Long.toHexString(TestPattern.GPA);

    @TempDir
    Path dir;

    @Test
    void livemigToQemuOverTcp() throws Exception {
        Path pat = Files.write(dir.resolve("pattern.bin"), TestPattern.bytes());
        try (LivemigProcess qemu = LivemigProcess.qemu(dir, "qemu-dst", "-m", "64M", "-incoming", "tcp:127.0.0.1:0");
             LivemigProcess lm = LivemigProcess.start(dir, "lm-src", "--machine", "none", "--memory", "64M",
                     "--load", pat + "@" + PATTERN_AT);
             QmpClient q = qemu.qmp();
             QmpClient l = lm.qmp()) {
            assertEquals("running", runState(l));
            String uri = boundUri(q);
            l.execute("migrate", T, "uri", uri);
            awaitMigrationStatus(l, MIGRATION, "completed");
            assertEquals("postmigrate", runState(l));
            awaitRunState(q, "running", SECONDS);
            assertWholeRam(q, "qemu-ram.bin");
        }
    }

    @Test
    void qemuToLivemigOverTcp() throws Exception {
        Path pat = Files.write(dir.resolve("pattern.bin"), TestPattern.bytes());
        try (LivemigProcess qemu = LivemigProcess.qemu(dir, "qemu-src", "-m", "64M", "-device",
                "loader,file=" + pat + ",addr=" + PATTERN_AT + ",force-raw=on");
             LivemigProcess lm = LivemigProcess.start(dir, "lm-dst", "--machine", "none", "--memory", "64M",
                     "--incoming", "tcp:127.0.0.1:0");
             QmpClient q = qemu.qmp();
             QmpClient l = lm.qmp()) {
            assertEquals("running", runState(q));
            q.execute("migrate", T, "uri", boundUri(l));
            awaitMigrationStatus(q, MIGRATION, "completed");
            assertEquals("postmigrate", runState(q));
            awaitRunState(l, "running", SECONDS);
            assertEquals("completed", migration(l).get("status"));
            assertArrayEquals(TestPattern.bytes(), readPhys(l, TestPattern.GPA, TestPattern.PAGES * 4096L));
            assertWholeRam(l, "lm-ram.bin");
        }
    }

    private void assertWholeRam(QmpClient c, String file) throws Exception {
        Path out = dir.resolve(file);
        c.execute("pmemsave", T, "val", 0L, "size", TestPattern.RAM_BYTES, "filename", out.toString());
        TestPattern.assertRam(MemorySegment.ofArray(Files.readAllBytes(out)), TestPattern.bytes());
    }
}
