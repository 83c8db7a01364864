package io.livemig.engine.migration;

import java.util.Locale;

/** QEMU's MigrationStatus values that livemig uses, with their QAPI spelling (query-migrate "status"). */
public enum MigrationStatus {
    NONE, SETUP, CANCELLING, CANCELLED, ACTIVE, POSTCOPY_ACTIVE, COMPLETED, FAILED, PRE_SWITCHOVER, DEVICE;

    private final String qapiName = name().toLowerCase(Locale.ROOT).replace('_', '-');

    public String qapiName() {
        return qapiName;
    }

    /** Whether a migration in this state still runs (capabilities frozen, a second migrate refused). */
    public boolean isActive() {
        return this == SETUP || this == ACTIVE || this == PRE_SWITCHOVER || this == DEVICE || this == CANCELLING
                || this == POSTCOPY_ACTIVE;
    }

    /** Whether the migration has ended. */
    public boolean isFinal() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }
}
