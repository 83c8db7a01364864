package io.livemig.engine.migration;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The migration parameters of one process (migrate-set-parameters / query-migrate-parameters), with
 * QEMU 7.2's names, QAPI types, defaults, check order and error texts; the texts were read off
 * qemu-system-x86_64 7.2.22 and the comparison test runs against it where it is installed.
 *
 * <p>One deliberate difference: {@code max-bandwidth} defaults to 0, which both QEMU and livemig treat as
 * "no limit" (QEMU defaults to 128 MiB/s, far below what loopback and a LAN carry). livemig also checks
 * the multifd zlib/zstd levels (QEMU 7.2 accepts any uint8; later QEMU rejects them with the same texts).
 *
 * <p>Updates are all-or-nothing: the changes are merged into a copy, the copy is checked as a whole, and
 * only then published. Threads: QMP thread writes; a migration reads an immutable {@link #snapshot()}.
 */
public final class MigrationParameters {

    /** QAPI scalar types of the parameters, with QEMU's type-error texts. */
    enum Type { UINT8, UINT32, UINT64, BOOL, STR_OR_NULL, MULTIFD_COMPRESSION }

    private record Spec(String name, Type type, Object defaultValue) {
    }

    /** Every parameter in query-migrate-parameters, with its QAPI type and default. */
    private static final Spec[] SPECS = {
            new Spec("announce-initial", Type.UINT64, 50L),
            new Spec("announce-max", Type.UINT64, 550L),
            new Spec("announce-rounds", Type.UINT64, 5L),
            new Spec("announce-step", Type.UINT64, 100L),
            new Spec("compress-level", Type.UINT8, 1L),
            new Spec("compress-threads", Type.UINT8, 8L),
            new Spec("compress-wait-thread", Type.BOOL, true),
            new Spec("decompress-threads", Type.UINT8, 2L),
            new Spec("throttle-trigger-threshold", Type.UINT8, 50L),
            new Spec("cpu-throttle-initial", Type.UINT8, 20L),
            new Spec("cpu-throttle-increment", Type.UINT8, 10L),
            new Spec("cpu-throttle-tailslow", Type.BOOL, false),
            new Spec("tls-creds", Type.STR_OR_NULL, ""),
            new Spec("tls-hostname", Type.STR_OR_NULL, ""),
            new Spec("tls-authz", Type.STR_OR_NULL, ""),
            new Spec("max-bandwidth", Type.UINT64, 0L),
            new Spec("downtime-limit", Type.UINT64, 300L),
            new Spec("x-checkpoint-delay", Type.UINT32, 20000L),
            new Spec("block-incremental", Type.BOOL, false),
            new Spec("multifd-channels", Type.UINT8, 2L),
            new Spec("xbzrle-cache-size", Type.UINT64, 64L << 20),
            new Spec("max-postcopy-bandwidth", Type.UINT64, 0L),
            new Spec("max-cpu-throttle", Type.UINT8, 99L),
            new Spec("multifd-compression", Type.MULTIFD_COMPRESSION, "none"),
            new Spec("multifd-zlib-level", Type.UINT8, 1L),
            new Spec("multifd-zstd-level", Type.UINT8, 1L),
    };

    /** QEMU's MAX_MIGRATE_DOWNTIME: 2000 seconds, in ms. */
    public static final long MAX_DOWNTIME_LIMIT_MS = 2000L * 1000;
    private static final long TARGET_PAGE_SIZE = 4096;

    private Map<String, Object> values = defaults();

    private static Map<String, Object> defaults() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Spec s : SPECS) m.put(s.name(), s.defaultValue());
        return m;
    }

    /**
     * Applies migrate-set-parameters' arguments (QAPI names to JSON values: Number, Boolean, String or
     * null). Unknown names, wrong types and out-of-range values fail with QEMU's text; nothing changes then.
     */
    public synchronized void apply(Map<String, ?> arguments) {
        Map<String, Object> next = new LinkedHashMap<>(values);
        for (Map.Entry<String, ?> e : arguments.entrySet()) {
            Spec spec = spec(e.getKey());
            next.put(spec.name(), coerce(spec, e.getValue()));
        }
        check(next);
        values = next;
    }

    /** An immutable view of the current values, for a migration to use unchanged while it runs. */
    public synchronized Snapshot snapshot() {
        return new Snapshot(Map.copyOf(values));
    }

    /** query-migrate-parameters' object, in QEMU's field order. */
    public synchronized Map<String, Object> toQmp() {
        return new LinkedHashMap<>(values);
    }

    private static Spec spec(String name) {
        for (Spec s : SPECS) {
            if (s.name().equals(name)) return s;
        }
        throw new MigrationConfigException("Parameter '" + name + "' is unexpected");
    }

    /** The QAPI input visitor's rules: integers only, uint64 wraps negatives as QEMU does. */
    private static Object coerce(Spec spec, Object v) {
        String n = spec.name();
        switch (spec.type()) {
            case BOOL -> {
                if (v instanceof Boolean) return v;
                throw new MigrationConfigException("Invalid parameter type for '" + n + "', expected: boolean");
            }
            case STR_OR_NULL -> {
                if (v == null) return "";
                if (v instanceof String) return v;
                throw new MigrationConfigException("Invalid parameter type for '" + n + "', expected: StrOrNull");
            }
            case MULTIFD_COMPRESSION -> {
                if (!(v instanceof String s)) {
                    throw new MigrationConfigException("Invalid parameter type for '" + n + "', expected: string");
                }
                if (!s.equals("none") && !s.equals("zlib") && !s.equals("zstd")) {
                    throw new MigrationConfigException("Parameter '" + n + "' does not accept value '" + s + "'");
                }
                return s;
            }
            default -> {
                Long l = integral(v);
                switch (spec.type()) {
                    case UINT8 -> {
                        if (l == null || l < 0 || l > 255) {
                            throw new MigrationConfigException("Parameter '" + n + "' expects uint8_t");
                        }
                    }
                    case UINT32 -> {
                        if (l == null || l < 0 || l > 0xFFFF_FFFFL) {
                            throw new MigrationConfigException("Parameter '" + n + "' expects uint32_t");
                        }
                    }
                    default -> {
                        if (l == null) throw new MigrationConfigException("Parameter '" + n + "' expects uint64");
                    }
                }
                return l;
            }
        }
    }

    /** A JSON integer as a 64-bit pattern (negative int64 and uint64 above 2^63 both fit); null if not one. */
    private static Long integral(Object v) {
        if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof BigInteger b && b.signum() >= 0 && b.bitLength() <= 64) return b.longValue();
        if (v instanceof java.math.BigDecimal d) {
            try {
                return integral(d.toBigIntegerExact());
            } catch (ArithmeticException e) {
                return null;
            }
        }
        return null;
    }

    /** QEMU 7.2's migrate_params_check on the merged values, in its order. */
    private static void check(Map<String, Object> p) {
        range(p, "compress-level", 0, 9, "a value between 0 and 9");
        range(p, "compress-threads", 1, 255, "a value between 1 and 255");
        range(p, "decompress-threads", 1, 255, "a value between 1 and 255");
        range(p, "throttle-trigger-threshold", 1, 100, "an integer in the range of 1 to 100");
        range(p, "cpu-throttle-initial", 1, 99, "an integer in the range of 1 to 99");
        range(p, "cpu-throttle-increment", 1, 99, "an integer in the range of 1 to 99");
        if (Long.compareUnsigned((Long) p.get("downtime-limit"), MAX_DOWNTIME_LIMIT_MS) > 0) {
            throw invalid("downtime-limit", "an integer in the range of 0 to (2000 * 1000) ms");
        }
        range(p, "multifd-channels", 1, 255, "a value between 1 and 255");
        range(p, "multifd-zlib-level", 0, 9, "a value between 0 and 9");
        range(p, "multifd-zstd-level", 0, 20, "a value between 0 and 20");
        long xbzrle = (Long) p.get("xbzrle-cache-size");
        if (Long.compareUnsigned(xbzrle, TARGET_PAGE_SIZE) < 0 || Long.bitCount(xbzrle) != 1) {
            throw invalid("xbzrle-cache-size", "a power of two no less than the target page size");
        }
        long maxThrottle = (Long) p.get("max-cpu-throttle");
        if (maxThrottle < (Long) p.get("cpu-throttle-initial") || maxThrottle > 99) {
            throw invalid("max-cpu-throttle", "an integer in the range of cpu_throttle_initial to 99");
        }
        unsignedRange(p, "announce-initial", 0, 100_000, "a value between 0 and 100000");
        unsignedRange(p, "announce-max", 0, 100_000, "a value between 0 and 100000");
        unsignedRange(p, "announce-rounds", 0, 1000, "a value between 0 and 1000");
        unsignedRange(p, "announce-step", 1, 10_000, "a value between 0 and 10000");
    }

    private static void range(Map<String, Object> p, String name, long min, long max, String expects) {
        long v = (Long) p.get(name);
        if (v < min || v > max) throw invalid(name, expects);
    }

    private static void unsignedRange(Map<String, Object> p, String name, long min, long max, String expects) {
        long v = (Long) p.get(name);
        if (Long.compareUnsigned(v, min) < 0 || Long.compareUnsigned(v, max) > 0) throw invalid(name, expects);
    }

    /** QERR_INVALID_PARAMETER_VALUE with QEMU's C-style (underscored) parameter name. */
    private static MigrationConfigException invalid(String qapiName, String expects) {
        return new MigrationConfigException("Parameter '" + qapiName.replace('-', '_') + "' expects " + expects);
    }

    /**
     * The parameters a migration runs with, fixed at its start. Units are in the accessor names; 0 for
     * {@link #maxBandwidthBytesPerSec()} means no limit.
     */
    public record Snapshot(Map<String, Object> values) {
        public long downtimeLimitMs() {
            return (Long) values.get("downtime-limit");
        }

        public long maxBandwidthBytesPerSec() {
            return (Long) values.get("max-bandwidth");
        }

        public long xbzrleCacheSizeBytes() {
            return (Long) values.get("xbzrle-cache-size");
        }

        public int cpuThrottleInitialPercent() {
            return ((Long) values.get("cpu-throttle-initial")).intValue();
        }

        public int cpuThrottleIncrementPercent() {
            return ((Long) values.get("cpu-throttle-increment")).intValue();
        }

        public boolean cpuThrottleTailslow() {
            return (Boolean) values.get("cpu-throttle-tailslow");
        }

        public int maxCpuThrottlePercent() {
            return ((Long) values.get("max-cpu-throttle")).intValue();
        }

        public int throttleTriggerThresholdPercent() {
            return ((Long) values.get("throttle-trigger-threshold")).intValue();
        }

        public int multifdChannels() {
            return ((Long) values.get("multifd-channels")).intValue();
        }

        public String multifdCompression() {
            return (String) values.get("multifd-compression");
        }

        public int multifdZlibLevel() {
            return ((Long) values.get("multifd-zlib-level")).intValue();
        }

        public int multifdZstdLevel() {
            return ((Long) values.get("multifd-zstd-level")).intValue();
        }
    }
}
