package io.livemig.engine.process;

import io.livemig.engine.migration.MigrationCapabilities;
import io.livemig.engine.migration.MigrationConfigException;
import io.livemig.engine.migration.MigrationParameters;
import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpError;
import io.livemig.engine.qmp.QmpServer;
import io.livemig.engine.qmp.QmpType;
import io.livemig.engine.qmp.QmpType.Field;
import io.livemig.engine.qmp.QmpType.Struct;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static io.livemig.engine.qmp.QmpType.Field.opt;
import static io.livemig.engine.qmp.QmpType.Field.req;

/**
 * The QMP commands of a {@code livemig run} process, with QEMU's names, arguments and messages;
 * livemig-only ones carry the {@code x-livemig-} prefix.
 */
final class VmCommands {
    /** Largest x-livemig-read-phys / write-phys transfer (keeps replies a sane size). */
    static final long MAX_PHYS_IO_BYTES = 16L << 20;

    private static final QmpType.Enum DATA_FORMAT = new QmpType.Enum("DataFormat", List.of("base64", "hex"));

    private VmCommands() {
    }

    static void register(QmpServer qmp, LivemigVm vm, MigrationManager migration, MigrationCapabilities caps,
                         MigrationParameters params, Runnable quit) {
        qmp.register("query-status", Struct.EMPTY, a -> vm.queryStatus());
        qmp.register("stop", Struct.EMPTY, a -> {
            vm.stop();
            return null;
        });
        qmp.register("cont", Struct.EMPTY, a -> {
            vm.cont();
            return null;
        });
        qmp.register("quit", Struct.EMPTY, a -> {
            qmp.emitEvent("SHUTDOWN", Json.obj("guest", false, "reason", "host-qmp-quit"));
            qmp.afterCurrentReply(quit);
            return null;
        });
        qmp.register("pmemsave", Struct.of(req("val", QmpType.INT), req("size", QmpType.INT),
                req("filename", QmpType.STR)), a -> {
            vm.pmemsave(a.lng("val"), a.lng("size"), Path.of(a.str("filename")));
            return null;
        });
        qmp.register("x-livemig-read-phys", Struct.of(req("addr", QmpType.INT), req("size", QmpType.INT),
                opt("format", DATA_FORMAT)), a -> {
            long size = a.lng("size");
            if (size > MAX_PHYS_IO_BYTES) {
                throw QmpError.generic("Parameter 'size' expects at most " + MAX_PHYS_IO_BYTES + " bytes");
            }
            byte[] bytes = vm.phys(a.lng("addr"), size, "x-livemig-read-phys").toArray(ValueLayout.JAVA_BYTE);
            String fmt = a.has("format") ? a.str("format") : "base64";
            return Json.obj("data", fmt.equals("hex") ? HexFormat.of().formatHex(bytes)
                    : Base64.getEncoder().encodeToString(bytes));
        });
        qmp.register("x-livemig-write-phys", Struct.of(req("addr", QmpType.INT), req("data", QmpType.STR),
                opt("format", DATA_FORMAT)), a -> {
            String fmt = a.has("format") ? a.str("format") : "base64";
            byte[] bytes;
            try {
                bytes = fmt.equals("hex") ? HexFormat.of().parseHex(a.str("data"))
                        : Base64.getDecoder().decode(a.str("data"));
            } catch (IllegalArgumentException e) {
                throw QmpError.generic("Parameter 'data' expects " + fmt + " data: " + e.getMessage());
            }
            if (bytes.length > MAX_PHYS_IO_BYTES) {
                throw QmpError.generic("Parameter 'data' expects at most " + MAX_PHYS_IO_BYTES + " bytes");
            }
            MemorySegment dst = vm.phys(a.lng("addr"), bytes.length, "x-livemig-write-phys");
            MemorySegment.copy(bytes, 0, dst, ValueLayout.JAVA_BYTE, 0, bytes.length);
            vm.noteRamWritten();
            migration.noteHostWrite(a.lng("addr"), bytes.length);
            return null;
        });
        qmp.register("migrate", Struct.of(req("uri", QmpType.STR), opt("blk", QmpType.BOOL), opt("inc", QmpType.BOOL),
                opt("detach", QmpType.BOOL), opt("resume", QmpType.BOOL)), a -> {
            if (a.bool("blk", false) || a.bool("inc", false)) {
                throw QmpError.generic("livemig does not migrate block devices (blk/inc)");
            }
            if (a.bool("resume", false)) throw QmpError.generic("Cannot resume if there is no paused migration");
            migration.migrate(a.str("uri"));
            return null;
        });
        qmp.register("migrate-incoming", Struct.of(req("uri", QmpType.STR)), a -> {
            migration.migrateIncoming(a.str("uri"));
            return null;
        });
        qmp.register("migrate_cancel", Struct.EMPTY, a -> {
            migration.cancel();
            return null;
        });
        qmp.register("query-migrate", Struct.EMPTY, a -> migration.query());
        qmp.register("migrate-continue", Struct.of(req("state", new QmpType.Enum("MigrationStatus", List.of("none",
                "setup", "cancelling", "cancelled", "active", "postcopy-active", "postcopy-paused",
                "postcopy-recover", "completed", "failed", "colo", "pre-switchover", "device", "wait-unplug")))), a -> {
            migration.continueSwitchover(a.str("state"));
            return null;
        });
        qmp.register("query-migrate-capabilities", Struct.EMPTY, a -> caps.toQmp());
        qmp.register("migrate-set-capabilities", Struct.of(req("capabilities", new QmpType.Array(Struct.of(
                req("capability", new QmpType.Enum("MigrationCapability", capabilityNames())),
                req("state", QmpType.BOOL))))), a -> {
            List<Map.Entry<String, Boolean>> changes = new ArrayList<>();
            for (Object o : (List<?>) a.get("capabilities")) {
                Map<?, ?> m = (Map<?, ?>) o;
                changes.add(new AbstractMap.SimpleImmutableEntry<>((String) m.get("capability"), (Boolean) m.get("state")));
            }
            try {
                caps.apply(changes, migration.isActive());
            } catch (MigrationConfigException e) {
                throw QmpError.generic(e.getMessage());
            }
            return null;
        });
        qmp.register("query-migrate-parameters", Struct.EMPTY, a -> params.toQmp());
        qmp.register("x-livemig-query-machine", Struct.EMPTY, a -> {
            Map<String, Object> m = Json.obj("accelerator", vm.machine() == null ? "none" : vm.machine().accelerator(),
                    "requested", vm.options().machine(),
                    "vcpus", vm.machine() == null ? 0L : (long) vm.machine().vcpuCount(),
                    "guest", vm.machine() == null ? "none" : vm.options().guest(),
                    "memory", vm.memory().totalBytes(),
                    "dirty-track", vm.machine() == null ? "none"
                            : migration.trackingBackendName());
            if (vm.options().machine().equals("auto") && vm.machine() != null
                    && !vm.machine().accelerator().equals("kvm")) {
                io.livemig.sys.HostCapabilities.kvmUnavailable().ifPresent(why -> m.put("fallback-reason", why));
            }
            return m;
        });
        // change-timeout-ms: how long a running guest gets to show progress (spec step 2, "a few seconds");
        // the check returns as soon as it does, so callers on slow hosts (emulation) pass more.
        qmp.register("x-livemig-ab-check", Struct.of(opt("change-timeout-ms", QmpType.INT)), a -> {
            long changeMs = a.has("change-timeout-ms") ? a.lng("change-timeout-ms") : 5000;
            if (changeMs < 1 || changeMs > 600_000) {
                throw QmpError.generic("Parameter 'change-timeout-ms' expects a value in 1..600000");
            }
            io.livemig.kvm.AbConsistencyCheck.Result r = vm.abCheck(java.time.Duration.ofMillis(changeMs));
            return Json.obj("consistent", r.consistent(), "message", r.message(), "bad-pages", r.badPageCount(),
                    "loop-position", r.loopPositionGpa());
        });
        qmp.register("migrate-set-parameters", null, a -> {
            try {
                params.apply(a.values());
            } catch (MigrationConfigException e) {
                throw QmpError.generic(e.getMessage());
            }
            return null;
        });
    }

    private static List<String> capabilityNames() {
        return java.util.Arrays.stream(io.livemig.engine.migration.MigrationCapability.values())
                .map(io.livemig.engine.migration.MigrationCapability::qapiName).toList();
    }
}
