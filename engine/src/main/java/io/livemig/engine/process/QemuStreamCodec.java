package io.livemig.engine.process;

import io.livemig.engine.migration.MachineStateSection;
import io.livemig.engine.stream.DeviceRegistry;
import io.livemig.engine.stream.LoadOptions;
import io.livemig.engine.stream.LoadResult;
import io.livemig.engine.stream.MigrationStreams;
import io.livemig.engine.stream.SaveOptions;
import io.livemig.memory.GuestMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * {@link StreamCodec} over {@link MigrationStreams}: the QEMU 7.2 stream of a {@code -M none} machine, plus
 * the livemig-machine section on load when the destination has vCPUs.
 */
public final class QemuStreamCodec implements StreamCodec {

    @Override
    public void save(WritableByteChannel out, GuestMemory memory, SaveRequest request) throws IOException {
        save(out, memory, request, null);
    }

    @Override
    public void save(WritableByteChannel out, GuestMemory memory, SaveRequest request,
                     io.livemig.engine.ram.RamSaver.MultifdHook multifd) throws IOException {
        SaveOptions options = SaveOptions.defaults()
                .withMachine(request.machineName())
                .withRunState(request.runState());
        if (request.uuid().isPresent()) options = options.withUuid(request.uuid().get(), request.validateUuid());
        try {
            MigrationStreams.saveAll(out, io.livemig.engine.ram.RamRegion.of(memory), List.of(), options, multifd);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public LoadOutcome load(ReadableByteChannel in, GuestMemory memory, LoadRequest request) throws IOException {
        return load(in, memory, request, null);
    }

    @Override
    public LoadOutcome load(ReadableByteChannel in, GuestMemory memory, LoadRequest request, Runnable onRamEos)
            throws IOException {
        LoadOptions options = LoadOptions.defaults();
        if (!request.machineName().equals(options.machineName())) {
            options = options.withMachineName(request.machineName());
        }
        options = options.withFreshRam(request.freshRam());
        if (request.uuid().isPresent()) options = options.withUuid(request.uuid().get());
        try {
            DeviceRegistry registry = DeviceRegistry.empty();
            if (request.machine() != null) {
                MachineStateSection.register(registry, request.machine()::loadState);
            }
            LoadResult r = MigrationStreams.loadAll(in, io.livemig.engine.ram.RamRegion.of(memory), registry, options, onRamEos);
            return new LoadOutcome(r.runState(), r.warnings());
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
