package io.livemig.engine.process;

import io.livemig.memory.GuestMemory;

import java.io.IOException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.Optional;
import java.util.UUID;

/**
 * The seam between a {@code livemig run} process and the migration stream format: a whole non-live
 * save of a paused VM, and a whole load. {@link QemuStreamCodec} implements it with
 * {@code io.livemig.engine.stream.MigrationStreams} (QEMU 7.2 format).
 */
public interface StreamCodec {

    /** What the source puts into the stream besides RAM. */
    record SaveRequest(String machineName, Optional<UUID> uuid, boolean validateUuid, String runState) {
    }

    /**
     * What the destination checks the stream against; {@code machine} (null for {@code --machine none})
     * receives the livemig-machine section (vCPU and device state); {@code freshRam}: the RAM is zero and
     * unwritten since it was mapped, so the loader may skip zero pages it has not written.
     */
    record LoadRequest(String machineName, Optional<UUID> uuid, io.livemig.kvm.GuestMachine machine,
                       boolean freshRam) {
    }

    /** What a load found. {@code runState} is the source's (globalstate), empty if the stream had none. */
    record LoadOutcome(Optional<String> runState, java.util.List<String> warnings) {
    }

    /** Writes the complete stream (guest paused by the caller). Does not close {@code out}. */
    void save(WritableByteChannel out, GuestMemory memory, SaveRequest request) throws IOException;

    /** Reads a complete stream into {@code memory}. */
    LoadOutcome load(ReadableByteChannel in, GuestMemory memory, LoadRequest request) throws IOException;

    /** {@link #save} with non-zero pages through {@code multifd} (capability {@code multifd}); null: plain save. */
    default void save(WritableByteChannel out, GuestMemory memory, SaveRequest request,
                      io.livemig.engine.ram.RamSaver.MultifdHook multifd) throws IOException {
        if (multifd != null) throw new IOException(getClass().getSimpleName() + " does not support multifd");
        save(out, memory, request);
    }

    /** {@link #load} running {@code onRamEos} at every RAM EOS (the multifd sync); null: plain load. */
    default LoadOutcome load(ReadableByteChannel in, GuestMemory memory, LoadRequest request, Runnable onRamEos)
            throws IOException {
        if (onRamEos != null) throw new IOException(getClass().getSimpleName() + " does not support multifd");
        return load(in, memory, request);
    }
}
