package io.livemig.engine.migration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MigrationParametersTest {

    /** (arguments, QEMU 7.2.22's error text for them), recorded from qemu-system-x86_64 -M none. */
    static Stream<Object[]> qemuRejections() {
        return Stream.of(
                new Object[] {Map.of("downtime-limit", 3_000_000L),
                        "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms"},
                new Object[] {Map.of("downtime-limit", -5L),
                        "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms"},
                new Object[] {Map.of("cpu-throttle-initial", 0L),
                        "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99"},
                new Object[] {Map.of("cpu-throttle-increment", 100L),
                        "Parameter 'cpu_throttle_increment' expects an integer in the range of 1 to 99"},
                new Object[] {Map.of("max-cpu-throttle", 100L),
                        "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99"},
                new Object[] {ordered("cpu-throttle-initial", 50L, "max-cpu-throttle", 40L),
                        "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99"},
                new Object[] {Map.of("throttle-trigger-threshold", 0L),
                        "Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100"},
                new Object[] {Map.of("xbzrle-cache-size", 1000L),
                        "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size"},
                new Object[] {Map.of("xbzrle-cache-size", 100_000L),
                        "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size"},
                new Object[] {Map.of("multifd-channels", 0L),
                        "Parameter 'multifd_channels' expects a value between 1 and 255"},
                new Object[] {Map.of("multifd-channels", 300L), "Parameter 'multifd-channels' expects uint8_t"},
                new Object[] {Map.of("multifd-channels", -1L), "Parameter 'multifd-channels' expects uint8_t"},
                new Object[] {Map.of("max-bandwidth", "x"), "Parameter 'max-bandwidth' expects uint64"},
                new Object[] {Map.of("max-bandwidth", new java.math.BigDecimal("1.5")),
                        "Parameter 'max-bandwidth' expects uint64"},
                new Object[] {Map.of("downtime-limit", "x"), "Parameter 'downtime-limit' expects uint64"},
                new Object[] {Map.of("cpu-throttle-tailslow", 1L),
                        "Invalid parameter type for 'cpu-throttle-tailslow', expected: boolean"},
                new Object[] {Map.of("multifd-compression", "lz4"),
                        "Parameter 'multifd-compression' does not accept value 'lz4'"},
                new Object[] {Map.of("tls-creds", 5L), "Invalid parameter type for 'tls-creds', expected: StrOrNull"},
                new Object[] {Map.of("x-checkpoint-delay", 5_000_000_000L),
                        "Parameter 'x-checkpoint-delay' expects uint32_t"},
                new Object[] {Map.of("compress-level", 10L), "Parameter 'compress_level' expects a value between 0 and 9"},
                new Object[] {Map.of("compress-threads", 0L),
                        "Parameter 'compress_threads' expects a value between 1 and 255"},
                new Object[] {Map.of("decompress-threads", 0L),
                        "Parameter 'decompress_threads' expects a value between 1 and 255"},
                new Object[] {Map.of("announce-initial", 200_000L),
                        "Parameter 'announce_initial' expects a value between 0 and 100000"},
                new Object[] {Map.of("announce-step", 0L),
                        "Parameter 'announce_step' expects a value between 0 and 10000"},
                new Object[] {Map.of("bogus", 1L), "Parameter 'bogus' is unexpected"});
    }

    private static Map<String, Object> ordered(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    @ParameterizedTest
    @MethodSource("qemuRejections")
    void rejectsWithQemusTextAndChangesNothing(Map<String, ?> arguments, String qemuText) {
        MigrationParameters p = new MigrationParameters();
        Map<String, Object> before = p.toQmp();
        MigrationConfigException e = assertThrows(MigrationConfigException.class, () -> p.apply(arguments));
        assertEquals(qemuText, e.getMessage());
        assertEquals(before, p.toQmp());
    }

    @Test
    void defaultsAreQemusExceptUnlimitedBandwidth() {
        Map<String, Object> q = new MigrationParameters().toQmp();
        assertEquals(300L, q.get("downtime-limit"));
        assertEquals(0L, q.get("max-bandwidth"));
        assertEquals(64L << 20, q.get("xbzrle-cache-size"));
        assertEquals(20L, q.get("cpu-throttle-initial"));
        assertEquals(10L, q.get("cpu-throttle-increment"));
        assertEquals(99L, q.get("max-cpu-throttle"));
        assertEquals(50L, q.get("throttle-trigger-threshold"));
        assertEquals(2L, q.get("multifd-channels"));
        assertEquals("none", q.get("multifd-compression"));
        assertEquals(26, q.size());
    }

    @Test
    void validUpdateIsAppliedAndVisibleInTheSnapshot() {
        MigrationParameters p = new MigrationParameters();
        p.apply(ordered("downtime-limit", 30_000L, "max-bandwidth", 1_000_000_000L, "cpu-throttle-initial", 30L,
                "multifd-compression", "zstd", "tls-creds", null));
        MigrationParameters.Snapshot s = p.snapshot();
        assertEquals(30_000L, s.downtimeLimitMs());
        assertEquals(1_000_000_000L, s.maxBandwidthBytesPerSec());
        assertEquals(30, s.cpuThrottleInitialPercent());
        assertEquals("zstd", s.multifdCompression());
        assertEquals("", p.toQmp().get("tls-creds"));
    }

    @Test
    void capabilitiesRejectUnknownUnimplementedAndBadCombinations() {
        MigrationCapabilities caps = new MigrationCapabilities();
        assertEquals("Parameter 'capability' does not accept value 'bogus'",
                assertThrows(MigrationConfigException.class,
                        () -> caps.apply(List.of(Map.entry("bogus", true)), false)).getMessage());
        assertEquals("Capability 'postcopy-ram' is not supported by livemig yet",
                assertThrows(MigrationConfigException.class,
                        () -> caps.apply(List.of(Map.entry("postcopy-ram", true)), false)).getMessage());
        assertEquals("There's a migration process in progress",
                assertThrows(MigrationConfigException.class,
                        () -> caps.apply(List.of(Map.entry("xbzrle", true)), true)).getMessage());
        caps.apply(List.of(Map.entry("xbzrle", true), Map.entry("events", true)), false);
        assertEquals(true, caps.isEnabled(MigrationCapability.XBZRLE));
        caps.apply(List.of(Map.entry("xbzrle", false)), false);
        assertEquals(false, caps.isEnabled(MigrationCapability.XBZRLE));
        assertEquals(true, caps.isEnabled(MigrationCapability.EVENTS));
        List<Map<String, Object>> listed = caps.toQmp();
        assertEquals(21, listed.size());
        assertEquals(Map.of("capability", "xbzrle", "state", false), listed.get(0));
        assertEquals(Map.of("capability", "events", "state", true), listed.get(5));
    }
}
