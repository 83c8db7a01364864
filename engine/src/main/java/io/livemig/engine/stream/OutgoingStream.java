package io.livemig.engine.stream;

import io.livemig.engine.ram.RamRecord;
import io.livemig.engine.ram.RamRegion;
import io.livemig.engine.ram.RamSaver;
import io.livemig.engine.ram.RamStats;
import io.livemig.engine.vmstate.GlobalStateSection;
import io.livemig.engine.vmstate.TimerSection;
import io.livemig.engine.vmstate.VmDescWriter;

import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import io.livemig.memory.DirtyBitmap;

/**
 * A precopy stream in the order of spec 1.6, for callers that drive the passes themselves (the live
 * migration thread) — {@link MigrationStreams#saveAll} is the one-shot form.
 *
 * <pre>
 * try (OutgoingStream out = new OutgoingStream(channel, RamRegion.of(memory), options)) {
 *     out.begin();                  // header, configuration, RAM START (setup) + footer
 *     out.ramPass(dirtyBitmaps);    // RAM PART: the dirty pages, EOS, footer; repeat while live
 *     out.complete(lastDirty, devices); // RAM END, timer, devices, globalstate, EOF, vmdesc; flush
 * }
 * </pre>
 * Section ids follow QEMU on x86 {@code -M none}: timer 0, ram 2, globalstate 4 (extra devices use the
 * ids in their {@link DeviceSection}). Not thread-safe: owned by the migration thread.
 */
public final class OutgoingStream implements AutoCloseable {
    public static final int RAM_SECTION_ID = 2;

    private final StreamWriter w;
    private final SaveOptions options;
    private final RamSaver ram;
    private int state; // 0 new, 1 begun, 2 complete

    public OutgoingStream(WritableByteChannel channel, List<RamRegion> blocks, SaveOptions options) {
        this.w = new StreamWriter(channel);
        this.options = options;
        this.ram = new RamSaver(w, blocks, options.ram());
    }

    public StreamWriter writer() {
        return w;
    }

    public RamStats ramStats() {
        return ram.stats();
    }

    public RamSaver ramSaver() {
        return ram;
    }

    /** Header, configuration, and the RAM setup section. */
    public void begin() {
        if (state != 0) throw new IllegalStateException("begin() twice");
        SectionType.writeFileHeader(w);
        ConfigurationSection config = new ConfigurationSection(options.machineName(), java.util.Optional.empty(), List.of(),
                options.validateUuid() ? options.uuid() : java.util.Optional.empty());
        config.write(w);
        SectionHeader.full(SectionType.SECTION_START, RAM_SECTION_ID, RamRecord.IDSTR, 0, RamRecord.VERSION).write(w);
        ram.writeSetup();
        SectionHeader.writeFooter(w, RAM_SECTION_ID);
        state = 1;
    }

    /** One RAM PART section with the pages dirty in {@code dirty} (one bitmap per block); returns records. */
    public long ramPass(List<DirtyBitmap> dirty) {
        if (state != 1) throw new IllegalStateException("ramPass() needs begin() and no complete()");
        SectionHeader.part(RAM_SECTION_ID).write(w);
        long n = ram.savePass(dirty);
        ram.writeEos();
        SectionHeader.writeFooter(w, RAM_SECTION_ID);
        return n;
    }

    /**
     * RAM END with the pages still dirty ({@code null} = none), then FULL sections: timer, {@code devices},
     * globalstate; EOF; the vmdesc trailer; flush.
     */
    public void complete(List<DirtyBitmap> lastDirty, List<DeviceSection> devices) {
        if (state != 1) throw new IllegalStateException("complete() needs begin()");
        SectionHeader.end(RAM_SECTION_ID).write(w);
        if (lastDirty != null) ram.savePass(lastDirty);
        ram.writeEos();
        SectionHeader.writeFooter(w, RAM_SECTION_ID);
        VmDescWriter desc = new VmDescWriter(RamRecord.PAGE_SIZE);
        List<DeviceSection> all = new ArrayList<>();
        all.add(new DeviceSection(TimerSection.IDSTR, 0, TimerSection.QEMU_SECTION_ID, TimerSection.DESCRIPTION,
                () -> TimerSection.state(options.cpuTicksOffset(), options.cpuClockOffset())));
        all.addAll(devices);
        all.add(new DeviceSection(GlobalStateSection.IDSTR, 0, GlobalStateSection.QEMU_SECTION_ID,
                GlobalStateSection.DESCRIPTION, () -> GlobalStateSection.state(options.runState())));
        for (DeviceSection d : all) {
            SectionHeader.full(SectionType.SECTION_FULL, d.sectionId(), d.idstr(), d.instanceId(), d.description().version()).write(w);
            desc.saveDevice(w, d.idstr(), d.instanceId(), d.description(), d.state().get());
            SectionHeader.writeFooter(w, d.sectionId());
        }
        w.u8(SectionType.EOF.code());
        if (options.sendVmdesc()) VmDescriptionTrailer.write(w, desc.finish());
        w.flush();
        state = 2;
    }

    @Override
    public void close() {
        ram.close();
    }
}
