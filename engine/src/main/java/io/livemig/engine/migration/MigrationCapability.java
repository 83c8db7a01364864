package io.livemig.engine.migration;

import java.util.Locale;

/**
 * QEMU 7.2's migration capabilities, in QEMU's order (query-migrate-capabilities lists them so). Each
 * says whether livemig implements it yet; setting an unimplemented one to true is rejected with a
 * message that names it, rather than silently ignored.
 */
public enum MigrationCapability {
    XBZRLE(true),
    RDMA_PIN_ALL(false),
    AUTO_CONVERGE(true),
    ZERO_BLOCKS(false),
    COMPRESS(false),
    EVENTS(true),
    POSTCOPY_RAM(false),
    X_COLO(false),
    RELEASE_RAM(false),
    BLOCK(false),
    RETURN_PATH(true),
    PAUSE_BEFORE_SWITCHOVER(true),
    MULTIFD(true),
    DIRTY_BITMAPS(false),
    POSTCOPY_BLOCKTIME(false),
    LATE_BLOCK_ACTIVATE(false),
    X_IGNORE_SHARED(false),
    VALIDATE_UUID(true),
    BACKGROUND_SNAPSHOT(false),
    ZERO_COPY_SEND(true),
    POSTCOPY_PREEMPT(false);

    private final boolean implemented;
    private final String qapiName;

    MigrationCapability(boolean implemented) {
        this.implemented = implemented;
        this.qapiName = name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The QAPI spelling, e.g. {@code auto-converge}. */
    public String qapiName() {
        return qapiName;
    }

    /** Whether livemig can run a migration with this capability on. */
    public boolean implemented() {
        return implemented;
    }

    /** The capability with that QAPI name; QEMU's error for an unknown one. */
    public static MigrationCapability fromQapi(String name) {
        for (MigrationCapability c : values()) {
            if (c.qapiName.equals(name)) return c;
        }
        throw new MigrationConfigException("Parameter 'capability' does not accept value '" + name + "'");
    }
}
