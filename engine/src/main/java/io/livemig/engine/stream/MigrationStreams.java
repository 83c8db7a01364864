package io.livemig.engine.stream;

import io.livemig.engine.ram.RamLoader;
import io.livemig.engine.ram.RamRecord;
import io.livemig.engine.ram.RamRegion;
import io.livemig.engine.vmstate.GlobalStateSection;
import io.livemig.engine.vmstate.TimerSection;
import io.livemig.engine.vmstate.VmState;
import io.livemig.engine.vmstate.VmStateCodec;
import io.livemig.engine.vmstate.VmStateDescription;
import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.GuestMemory;

import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;

import static io.livemig.engine.stream.StreamFormatException.hex;

/**
 * Whole-stream save and load for a non-live (paused) migration, and the destination's section loop
 * for any precopy stream of QEMU 7.2 (spec 1.6).
 */
public final class MigrationStreams {
    private MigrationStreams() {
    }

    /**
     * Saves all of {@code memory} and {@code devices} (guest stopped): header, configuration, RAM
     * START/PART (every page once)/END, timer, devices, globalstate, EOF, vmdesc. Flushes, does not close.
     */
    public static void saveAll(WritableByteChannel channel, GuestMemory memory, List<DeviceSection> devices, SaveOptions options) {
        saveAll(channel, RamRegion.of(memory), devices, options);
    }

    public static void saveAll(WritableByteChannel channel, List<RamRegion> blocks, List<DeviceSection> devices, SaveOptions options) {
        saveAll(channel, blocks, devices, options, null);
    }

    /** As {@link #saveAll(WritableByteChannel, List, List, SaveOptions)}, non-zero pages through {@code multifd} (null: none). */
    public static void saveAll(WritableByteChannel channel, List<RamRegion> blocks, List<DeviceSection> devices, SaveOptions options,
                               io.livemig.engine.ram.RamSaver.MultifdHook multifd) {
        try (OutgoingStream out = new OutgoingStream(channel, blocks, options)) {
            out.ramSaver().setMultifd(multifd);
            out.begin();
            List<DirtyBitmap> all = new ArrayList<>();
            for (RamRegion b : blocks) {
                DirtyBitmap d = new DirtyBitmap(b.pages());
                d.setAll();
                all.add(d);
            }
            out.ramPass(all);
            out.complete(null, devices);
        }
    }

    /** Loads a stream into {@code memory}; see {@link #loadAll(ReadableByteChannel, List, DeviceRegistry, LoadOptions)}. */
    public static LoadResult loadAll(ReadableByteChannel channel, GuestMemory memory, DeviceRegistry registry, LoadOptions options) {
        return loadAll(channel, RamRegion.of(memory), registry, options);
    }

    /**
     * Loads a precopy stream: header, configuration (checked against {@code options}), sections until
     * EOF, then the optional vmdesc. RAM goes into {@code blocks}; {@code timer} and {@code globalstate}
     * are built in (unless registered), other sections must be registered in {@code registry}. Commands:
     * OPEN_RETURN_PATH is noted, PING needs a return path (which a plain load has not), postcopy and
     * COLO commands are refused.
     *
     * @throws StreamFormatException for any bad input: the only exception for stream content
     */
    public static LoadResult loadAll(ReadableByteChannel channel, List<RamRegion> blocks, DeviceRegistry registry,
                                     LoadOptions options) {
        return loadAll(channel, blocks, registry, options, null);
    }

    /**
     * As {@link #loadAll(ReadableByteChannel, List, DeviceRegistry, LoadOptions)}, running {@code onRamEos}
     * (null: nothing) at every RAM EOS: the multifd sync point (spec 3.5). With a hook the fresh-RAM
     * shortcut is off (multifd channels write pages the loader does not see).
     */
    public static LoadResult loadAll(ReadableByteChannel channel, List<RamRegion> blocks, DeviceRegistry registry,
                                     LoadOptions options, Runnable onRamEos) {
        StreamReader r = new StreamReader(channel);
        List<String> warnings = new ArrayList<>();
        try (RamLoader ram = new RamLoader(blocks, options.compress(), options.freshRam() && onRamEos == null)) {
            ram.setEosHook(onRamEos);
            SectionType.readFileHeader(r);
            long cfgAt = r.position();
            int t = r.u8("configuration.type");
            if (t != SectionType.CONFIGURATION.code()) {
                throw new StreamFormatException("configuration.type", hex(t), "0x7 (configuration section after the header)", cfgAt);
            }
            ConfigurationSection config = ConfigurationSection.readAfterType(r);
            config.validateAgainst(options.machineName(), options.validatedCaps(), options.uuid(), cfgAt);
            if (config.uuid().isPresent() && options.uuid().isEmpty()) {
                warnings.add("stream carries uuid " + config.uuid().get() + " but this destination has none");
            }
            Map<Integer, String> liveSections = new HashMap<>();
            Map<String, VmState> devices = new LinkedHashMap<>();
            Optional<String> runState = Optional.empty();
            boolean returnPath = false;
            while (true) {
                long at = r.position();
                int type = r.u8("section.type");
                SectionType st = SectionType.of(type);
                if (st == SectionType.EOF) break;
                if (st == null || st == SectionType.SUBSECTION || st == SectionType.VMDESCRIPTION
                        || st == SectionType.CONFIGURATION || st == SectionType.SECTION_FOOTER) {
                    throw new StreamFormatException("section.type", hex(type),
                            "START 0x1, PART 0x2, END 0x3, FULL 0x4, COMMAND 0x8 or EOF 0x0", at);
                }
                switch (st) {
                    case COMMAND -> {
                        MigCommand c = MigCommand.readAfterType(r);
                        if (c.cmd() == MigCommand.OPEN_RETURN_PATH) {
                            returnPath = true;
                        } else if (c.cmd() == MigCommand.PING && returnPath) {
                            warnings.add("PING " + c.be32Payload() + " at offset " + at + " not answered (file load, no return path channel)");
                        } else {
                            throw new StreamFormatException("command.cmd", MigCommand.name(c.cmd()),
                                    c.cmd() == MigCommand.PING ? "a return path before PING (OPEN_RETURN_PATH)"
                                            : "OPEN_RETURN_PATH or PING (postcopy and COLO are not supported by this loader)", at + 1);
                        }
                    }
                    case SECTION_START, SECTION_FULL -> {
                        SectionHeader h = SectionHeader.readAfterType(r, st);
                        long verAt = r.position() - 4;
                        if (h.idstr().equals(RamRecord.IDSTR) && h.instanceId() == 0) {
                            if (h.versionId() != RamRecord.VERSION) {
                                throw new StreamFormatException("section.version_id", h.versionId() & 0xFFFFFFFFL, "4 for ram", verAt);
                            }
                            liveSections.put(h.sectionId(), h.idstr());
                            ram.loadBody(r);
                        } else {
                            VmStateDescription d;
                            Consumer<VmState> sink = null;
                            DeviceRegistry.Handler handler = registry.find(h.idstr(), h.instanceId());
                            if (handler != null) {
                                d = handler.description();
                                sink = handler.onLoad();
                            } else if (h.idstr().equals(TimerSection.IDSTR) && h.instanceId() == 0) {
                                d = TimerSection.DESCRIPTION;
                            } else if (h.idstr().equals(GlobalStateSection.IDSTR) && h.instanceId() == 0) {
                                d = GlobalStateSection.DESCRIPTION;
                            } else {
                                throw new StreamFormatException("section.idstr", "\"" + h.idstr() + "\" instance " + h.instanceId(),
                                        "a section this destination knows (ram, timer, globalstate"
                                                + registeredNames(registry) + ")", at + 5);
                            }
                            VmStateCodec.checkVersion(d, h.versionId() & 0xFFFFFFFFL, "section.version_id", verAt);
                            VmState s = VmStateCodec.load(r, d, h.versionId());
                            devices.put(h.idstr() + "/" + h.instanceId(), s);
                            if (d == GlobalStateSection.DESCRIPTION) runState = Optional.of(GlobalStateSection.runState(s));
                            if (sink != null) sink.accept(s);
                            if (st == SectionType.SECTION_START) liveSections.put(h.sectionId(), h.idstr());
                        }
                        SectionHeader.readFooter(r, h.sectionId(), h.idstr());
                    }
                    case SECTION_PART, SECTION_END -> {
                        SectionHeader h = SectionHeader.readAfterType(r, st);
                        String idstr = liveSections.get(h.sectionId());
                        if (idstr == null) {
                            throw new StreamFormatException("section.id", h.sectionId() & 0xFFFFFFFFL,
                                    "the id of a live section started earlier " + liveSections, at + 1);
                        }
                        if (!idstr.equals(RamRecord.IDSTR)) {
                            throw new StreamFormatException("section.id", h.sectionId() & 0xFFFFFFFFL,
                                    "a RAM section id (only RAM is iterative here)", at + 1);
                        }
                        ram.loadBody(r);
                        SectionHeader.readFooter(r, h.sectionId(), idstr);
                    }
                    default -> throw new AssertionError(st);
                }
            }
            Optional<String> vmdesc = Optional.empty();
            if (r.atEnd()) {
                warnings.add("no vmdesc after EOF");
            } else {
                long at = r.position();
                int b = r.u8("vmdesc.type");
                if (b == SectionType.VMDESCRIPTION.code()) {
                    vmdesc = Optional.of(VmDescriptionTrailer.readAfterType(r));
                } else {
                    warnings.add("expected vmdesc (0x06) after EOF, got " + hex(b) + " at offset " + at + "; ignored");
                }
            }
            return new LoadResult(config.machineName(), config.uuid(), runState, ram.stats(), devices, vmdesc, warnings);
        }
    }

    private static String registeredNames(DeviceRegistry registry) {
        StringBuilder sb = new StringBuilder();
        for (DeviceRegistry.Handler h : registry.handlers()) sb.append(", ").append(h.idstr()).append('/').append(h.instanceId());
        return sb.toString();
    }

    /** Helper for tests and callers: the uuid bytes as QEMU sends them. */
    public static UUID uuid(String s) {
        return UUID.fromString(s);
    }
}
