package io.livemig.engine.stream;

import io.livemig.engine.ram.RamRecord.Kind;
import io.livemig.engine.ram.RamRegion;
import io.livemig.engine.vmstate.VmState;
import io.livemig.engine.vmstate.VmStateDescription;
import io.livemig.memory.GuestMemory;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.*;

/** Whole streams: saveAll/loadAll, device registry, configuration checks, tolerated and refused oddities. */
class MigrationStreamsTest {
    static final long RAM = 1L << 20;
    static final VmStateDescription MYDEV = VmStateDescription.builder("mydev").version(2).minimumVersion(1)
            .uint32("reg").buffer("blob", 8)
            .subsection(VmStateDescription.builder("mydev/extra").version(1).uint64("x").build(), s -> s.getLong("reg") > 1)
            .build();

    static DeviceSection mydev(long reg) {
        return new DeviceSection("mydev", 0, 7, MYDEV,
                () -> new VmState().putLong("reg", reg).put("blob", new byte[] {1, 2, 3, 4, 5, 6, 7, 8})
                        .put("mydev/extra", new VmState().putLong("x", 99)));
    }

    static byte[] save(GuestMemory mem, List<DeviceSection> devices, SaveOptions opts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MigrationStreams.saveAll(Channels.newChannel(out), mem, devices, opts);
        return out.toByteArray();
    }

    static GuestMemory filledMemory() {
        GuestMemory mem = GuestMemory.builder().anonymous("ram", RAM).build();
        MemorySegment s = mem.block("ram").segment();
        for (long p = 0; p < RAM / 4096; p += 3) s.set(ValueLayout.JAVA_LONG_UNALIGNED, p * 4096 + 8, p * 0x0101010101L + 1);
        return mem;
    }

    @Test
    void saveAllLoadAllRoundTrip() {
        try (GuestMemory src = filledMemory(); GuestMemory dst = GuestMemory.builder().anonymous("ram", RAM).build()) {
            byte[] stream = save(src, List.of(mydev(5)), SaveOptions.defaults().withRunState("paused"));
            List<VmState> got = new ArrayList<>();
            LoadResult r = MigrationStreams.loadAll(new ByteArrayChannel(stream), dst,
                    DeviceRegistry.empty().register("mydev", 0, MYDEV, got::add), LoadOptions.defaults());
            assertEquals(-1, src.block("ram").segment().mismatch(dst.block("ram").segment()));
            assertEquals(Optional.of("paused"), r.runState());
            assertEquals("none", r.machineName());
            assertEquals(1, got.size());
            assertEquals(5, got.get(0).getLong("reg"));
            assertEquals(99, got.get(0).getStruct("mydev/extra").getLong("x"));
            assertEquals(86, r.ram().count("ram", Kind.PAGE));
            assertEquals(256 - 86, r.ram().count("ram", Kind.ZERO));
            assertTrue(r.vmdescJson().orElseThrow().contains("\"vmsd_name\": \"mydev/extra\""));
            assertEquals(List.of(), r.warnings());
        }
    }

    @Test
    void unknownSectionNamesIdstr() {
        try (GuestMemory src = filledMemory(); GuestMemory dst = GuestMemory.builder().anonymous("ram", RAM).build()) {
            byte[] stream = save(src, List.of(mydev(1)), SaveOptions.defaults());
            StreamFormatException e = assertThrows(StreamFormatException.class, () -> MigrationStreams.loadAll(
                    new ByteArrayChannel(stream), dst, DeviceRegistry.empty(), LoadOptions.defaults()));
            assertEquals("section.idstr", e.field());
            assertEquals("\"mydev\" instance 0", e.value());
            assertTrue(e.expected().contains("ram, timer, globalstate"), e.expected());
        }
    }

    @Test
    void machineAndUuidValidation() {
        UUID u = UUID.fromString("12345678-9abc-def0-1122-334455667788");
        try (GuestMemory src = filledMemory(); GuestMemory dst = GuestMemory.builder().anonymous("ram", RAM).build()) {
            byte[] stream = save(src, List.of(), SaveOptions.defaults().withUuid(u, true));
            LoadResult ok = MigrationStreams.loadAll(new ByteArrayChannel(stream), dst, DeviceRegistry.empty(), LoadOptions.defaults().withUuid(u));
            assertEquals(Optional.of(u), ok.uuid());
            StreamFormatException e = assertThrows(StreamFormatException.class, () -> MigrationStreams.loadAll(new ByteArrayChannel(stream),
                    dst, DeviceRegistry.empty(), LoadOptions.defaults().withUuid(UUID.randomUUID())));
            assertEquals("configuration/uuid", e.field());
            assertEquals(8, e.offset());
            LoadResult warn = MigrationStreams.loadAll(new ByteArrayChannel(stream), dst, DeviceRegistry.empty(), LoadOptions.defaults());
            assertTrue(warn.warnings().get(0).contains("has none"));
            byte[] pc = save(src, List.of(), SaveOptions.defaults().withMachine("pc"));
            e = assertThrows(StreamFormatException.class, () -> MigrationStreams.loadAll(new ByteArrayChannel(pc), dst,
                    DeviceRegistry.empty(), LoadOptions.defaults()));
            assertEquals("configuration.name=\"pc\", expected \"none\" (or a prefix of it) (at stream offset 8)", e.getMessage());
        }
    }

    @Test
    void missingVmdescTolerated() {
        try (GuestMemory src = filledMemory(); GuestMemory dst = GuestMemory.builder().anonymous("ram", RAM).build()) {
            SaveOptions d = SaveOptions.defaults();
            byte[] stream = save(src, List.of(), new SaveOptions(d.machineName(), d.uuid(), false, d.ram(), "running", 1, 2, false));
            LoadResult r = MigrationStreams.loadAll(new ByteArrayChannel(stream), dst, DeviceRegistry.empty(), LoadOptions.defaults());
            assertEquals(List.of("no vmdesc after EOF"), r.warnings());
            assertEquals(Optional.of("running"), r.runState());
            assertEquals(2, r.devices().get("timer/0").getLong("cpu_clock_offset"));
        }
    }

    @Test
    void strayTypesAndIdsRefused() {
        try (GuestMemory dst = GuestMemory.builder().anonymous("ram", RAM).build()) {
            byte[] part = StreamWriter.toBytes(w -> {
                SectionType.writeFileHeader(w);
                ConfigurationSection.of("none").write(w);
                SectionHeader.part(9).write(w);
            });
            StreamFormatException e = assertThrows(StreamFormatException.class, () -> MigrationStreams.loadAll(
                    new ByteArrayChannel(part), RamRegion.of(dst), DeviceRegistry.empty(), LoadOptions.defaults()));
            assertEquals("section.id", e.field());
            assertEquals(18, e.offset());
            byte[] footer = StreamWriter.toBytes(w -> {
                SectionType.writeFileHeader(w);
                ConfigurationSection.of("none").write(w);
                SectionHeader.writeFooter(w, 0);
            });
            e = assertThrows(StreamFormatException.class, () -> MigrationStreams.loadAll(
                    new ByteArrayChannel(footer), RamRegion.of(dst), DeviceRegistry.empty(), LoadOptions.defaults()));
            assertEquals("section.type=0x7e, expected START 0x1, PART 0x2, END 0x3, FULL 0x4, COMMAND 0x8 or EOF 0x0 (at stream offset 17)",
                    e.getMessage());
            byte[] ping = StreamWriter.toBytes(w -> {
                SectionType.writeFileHeader(w);
                ConfigurationSection.of("none").write(w);
                MigCommand.ping(1).write(w);
            });
            e = assertThrows(StreamFormatException.class, () -> MigrationStreams.loadAll(
                    new ByteArrayChannel(ping), RamRegion.of(dst), DeviceRegistry.empty(), LoadOptions.defaults()));
            assertTrue(e.expected().contains("return path"), e.getMessage());
        }
    }
}
