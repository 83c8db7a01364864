package io.livemig.engine.migration;

/**
 * A migration capability or parameter was rejected. The message is QEMU 7.2's own text for the same
 * mistake (QMP reports it as a GenericError), e.g.
 * {@code Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99}.
 */
public final class MigrationConfigException extends RuntimeException {
    public MigrationConfigException(String message) {
        super(message);
    }
}
