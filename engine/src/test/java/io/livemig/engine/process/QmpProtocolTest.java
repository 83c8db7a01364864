package io.livemig.engine.process;

import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The QMP protocol of a real {@code livemig run --machine none} child process, checked against QEMU's texts. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class QmpProtocolTest {
    private static final Duration T = Duration.ofSeconds(20);

    @TempDir
    static Path dir;
    private LivemigProcess vm;

    @BeforeAll
    void start() throws Exception {
        vm = LivemigProcess.start(dir, "vm", "--machine", "none", "--memory", "16M");
    }

    @AfterAll
    void stop() throws Exception {
        vm.close();
    }

    @Test
    void greetingAndNegotiation() throws Exception {
        try (QmpClient c = QmpClient.connect(vm.qmpSocket, LivemigProcess.START_TIMEOUT)) {
            assertEquals("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
                    + "\"package\": \"livemig-0.1\"}, \"capabilities\": [\"oob\"]}}", Json.write(c.greeting()));
            assertEquals("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities negotiation"
                    + " with 'qmp_capabilities'\"}}", Json.write(c.request("{\"execute\": \"query-status\"}", T)));
            assertEquals("{\"return\": {}, \"id\": 7}",
                    Json.write(c.request("{\"execute\": \"qmp_capabilities\", \"id\": 7}", T)));
            assertEquals("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation is already"
                    + " complete, command ignored\"}}", Json.write(c.request("{\"execute\": \"qmp_capabilities\"}", T)));
        }
    }

    @Test
    void badInputGetsQemusErrors() throws Exception {
        try (QmpClient c = vm.qmp()) {
            assertEquals(err("GenericError", "JSON parse error, invalid keyword 'foo'"), Json.write(c.request("{foo}", T)));
            assertEquals(err("GenericError", "QMP input must be a JSON object"), Json.write(c.request("[1]", T)));
            assertEquals(err("GenericError", "QMP input member 'foo' is unexpected"),
                    Json.write(c.request("{\"foo\": 1}", T)));
            assertEquals(err("GenericError", "QMP input member 'execute' must be a string"),
                    Json.write(c.request("{\"execute\": 1}", T)));
            assertEquals(err("GenericError", "QMP input member 'arguments' must be an object"),
                    Json.write(c.request("{\"execute\": \"stop\", \"arguments\": 1}", T)));
            assertEquals("{\"id\": [1], \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command foo has"
                    + " not been found\"}}", Json.write(c.request("{\"execute\": \"foo\", \"id\": [1]}", T)));
            assertEquals(err("GenericError", "Invalid parameter type for 'val', expected: integer"), Json.write(c.request(
                    "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": \"a\", \"size\": 1, \"filename\": \"/tmp/x\"}}", T)));
            assertEquals(err("GenericError", "Parameter 'val' is missing"), Json.write(c.request(
                    "{\"execute\": \"pmemsave\", \"arguments\": {\"size\": 1, \"filename\": \"/tmp/x\"}}", T)));
            assertEquals(err("GenericError", "Parameter 'foo' is unexpected"), Json.write(c.request(
                    "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0, \"size\": 1, \"filename\": \"/x\", \"foo\": 1}}", T)));
            assertEquals(err("GenericError", "Parameter 'uri' is missing"),
                    Json.write(c.request("{\"execute\": \"migrate\", \"arguments\": {}}", T)));
            assertEquals(err("GenericError", "Parameter 'capability' does not accept value 'nope'"), Json.write(c.request(
                    "{\"execute\": \"migrate-set-capabilities\", \"arguments\": {\"capabilities\": "
                            + "[{\"capability\": \"nope\", \"state\": true}]}}", T)));
            // two commands in one write, both answered in order
            Map<String, Object> first = c.request("{\"execute\": \"query-status\", \"id\": 1}{\"execute\": \"query-status\", \"id\": 2}", T);
            assertEquals(1L, first.get("id"));
            assertEquals(2L, c.request("{\"execute\": \"query-status\", \"id\": 3}", T).get("id"));
        }
    }

    private static String err(String cls, String desc) {
        return Json.write(Json.obj("error", Json.obj("class", cls, "desc", desc)));
    }

    @Test
    void stopContQueryStatusAndEvents() throws Exception {
        try (QmpClient c = vm.qmp()) {
            assertEquals(Json.obj("status", "running", "singlestep", false, "running", true), c.execute("query-status", T));
            c.execute("stop", T);
            Map<String, Object> ev = c.awaitEvent("STOP", T);
            assertTrue(((Map<?, ?>) ev.get("timestamp")).get("seconds") instanceof Long);
            assertEquals(Json.obj("status", "paused", "singlestep", false, "running", false), c.execute("query-status", T));
            c.execute("cont", T);
            c.awaitEvent("RESUME", T);
            assertEquals(true, ((Map<?, ?>) c.execute("query-status", T)).get("running"));
        }
    }

    @Test
    void physReadWriteAndPmemsave() throws Exception {
        try (QmpClient c = vm.qmp()) {
            byte[] data = new byte[10000];
            for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 13 + 1);
            c.execute("x-livemig-write-phys", T, "addr", 0x100000L, "data", Base64.getEncoder().encodeToString(data));
            Map<?, ?> r = (Map<?, ?>) c.execute("x-livemig-read-phys", T, "addr", 0x100000L, "size", 10000L);
            assertArrayEquals(data, Base64.getDecoder().decode((String) r.get("data")));
            c.execute("x-livemig-write-phys", T, "addr", 0x10L, "data", "cafe", "format", "hex");
            assertEquals(Json.obj("data", "00cafe00"),
                    c.execute("x-livemig-read-phys", T, "addr", 0xfL, "size", 4L, "format", "hex"));
            Path out = dir.resolve("pmem.bin");
            c.execute("pmemsave", T, "val", 0x100000L, "size", 10000L, "filename", out.toString());
            assertArrayEquals(data, Files.readAllBytes(out));
            QmpClient.QmpException e = assertThrows(QmpClient.QmpException.class,
                    () -> c.execute("pmemsave", T, "val", 0L, "size", 16L, "filename", "/nonexistent/x.bin"));
            assertEquals("Could not open '/nonexistent/x.bin': No such file or directory", e.desc());
            e = assertThrows(QmpClient.QmpException.class,
                    () -> c.execute("x-livemig-read-phys", T, "addr", (16L << 20) - 2, "size", 4L));
            assertTrue(e.desc().contains("outside guest RAM"), e.desc());
        }
    }

    @Test
    void migrationCapabilitiesAndQueries() throws Exception {
        try (QmpClient c = vm.qmp()) {
            List<?> caps = (List<?>) c.execute("query-migrate-capabilities", T);
            assertEquals(21, caps.size());
            assertEquals(Json.obj("capability", "xbzrle", "state", false), caps.get(0));
            c.execute("migrate-set-capabilities", T, "capabilities",
                    List.of(Json.obj("capability", "events", "state", true)));
            assertTrue(((List<?>) c.execute("query-migrate-capabilities", T)).contains(
                    Json.obj("capability", "events", "state", true)));
            QmpClient.QmpException e = assertThrows(QmpClient.QmpException.class,
                    () -> c.execute("migrate", T, "uri", "bogus:1"));
            assertEquals("Parameter 'uri' expects a valid migration protocol", e.desc());
            e = assertThrows(QmpClient.QmpException.class, () -> c.execute("migrate-incoming", T, "uri", "tcp:0:0"));
            assertEquals("'-incoming' was not specified on the command line", e.desc());
            c.execute("migrate-set-capabilities", T, "capabilities",
                    List.of(Json.obj("capability", "events", "state", false)));
            assertFalse(((Map<?, ?>) c.execute("query-migrate-parameters", T)).isEmpty());
        }
    }

    @Test
    void clientsInSequence() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (QmpClient c = vm.qmp()) {
                assertEquals("running", ((Map<?, ?>) c.execute("query-status", T)).get("status"));
            }
        }
    }
}
