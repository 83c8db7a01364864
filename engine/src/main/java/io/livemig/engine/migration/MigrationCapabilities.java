package io.livemig.engine.migration;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The capability set of one process (migrate-set-capabilities / query-migrate-capabilities). Updates are
 * all-or-nothing: a list is validated as a whole against the current set, like QEMU's
 * {@code migrate_caps_check}, and applied only when every entry and every combination is acceptable.
 *
 * <p>Threads: read and written by the QMP thread; a migration takes an immutable {@link #snapshot()} at
 * start, so later changes never affect a running migration.
 */
public final class MigrationCapabilities {
    private final EnumSet<MigrationCapability> enabled = EnumSet.noneOf(MigrationCapability.class);

    /** Whether {@code c} is on. */
    public synchronized boolean isEnabled(MigrationCapability c) {
        return enabled.contains(c);
    }

    /** An immutable copy of the enabled set. */
    public synchronized Set<MigrationCapability> snapshot() {
        return Set.copyOf(enabled);
    }

    /**
     * Applies {@code changes} (QAPI name to state) in order, as migrate-set-capabilities does.
     *
     * @param migrationActive whether a migration is in progress (capabilities are then frozen)
     * @throws MigrationConfigException with QEMU's text; nothing is changed then
     */
    public synchronized void apply(List<Map.Entry<String, Boolean>> changes, boolean migrationActive) {
        if (migrationActive) {
            throw new MigrationConfigException("There's a migration process in progress");
        }
        EnumSet<MigrationCapability> next = EnumSet.copyOf(enabled.isEmpty()
                ? EnumSet.noneOf(MigrationCapability.class) : enabled);
        for (Map.Entry<String, Boolean> e : changes) {
            MigrationCapability c = MigrationCapability.fromQapi(e.getKey());
            if (e.getValue()) {
                if (!c.implemented()) {
                    throw new MigrationConfigException("Capability '" + c.qapiName()
                            + "' is not supported by livemig yet");
                }
                next.add(c);
            } else {
                next.remove(c);
            }
        }
        check(next);
        enabled.clear();
        enabled.addAll(next);
    }

    /** QEMU 7.2's combination rules that apply to what livemig implements. */
    private static void check(Set<MigrationCapability> caps) {
        if (caps.contains(MigrationCapability.ZERO_COPY_SEND)
                && (!caps.contains(MigrationCapability.MULTIFD) || caps.contains(MigrationCapability.COMPRESS))) {
            throw new MigrationConfigException("Zero copy only available for non-compressed non-TLS multifd migration");
        }
        if (caps.contains(MigrationCapability.POSTCOPY_RAM) && caps.contains(MigrationCapability.COMPRESS)) {
            throw new MigrationConfigException("Postcopy is not currently compatible with compression");
        }
        if (caps.contains(MigrationCapability.XBZRLE) && caps.contains(MigrationCapability.MULTIFD)) {
            // QEMU 7.2 accepts the pair and then never uses XBZRLE on multifd channels; saying so is kinder.
            throw new MigrationConfigException("Capability 'xbzrle' is not compatible with 'multifd'");
        }
    }

    /** query-migrate-capabilities' list, every capability in QEMU's order. */
    public synchronized List<Map<String, Object>> toQmp() {
        return java.util.Arrays.stream(MigrationCapability.values())
                .map(c -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("capability", c.qapiName());
                    m.put("state", enabled.contains(c));
                    return m;
                })
                .toList();
    }
}
