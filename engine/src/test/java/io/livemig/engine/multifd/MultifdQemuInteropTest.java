package io.livemig.engine.multifd;

import io.livemig.engine.ram.RamLoader;
import io.livemig.engine.ram.RamRegion;
import io.livemig.engine.stream.ConfigurationSection;
import io.livemig.engine.stream.QemuProcess;
import io.livemig.engine.stream.SectionHeader;
import io.livemig.engine.stream.SectionType;
import io.livemig.engine.stream.StreamFormatException;
import io.livemig.engine.stream.StreamReader;
import io.livemig.engine.stream.TestPattern;
import io.livemig.memory.GuestMemory;
import io.livemig.sys.zstd.ZstdNative;
import io.livemig.transport.IncomingEndpoint;
import io.livemig.transport.MigrationChannel;
import io.livemig.transport.MigrationUri;
import io.livemig.transport.Transports;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * QEMU 7.2 (source, {@code -M none -m 64M}, pattern loaded with the loader device) migrates with multifd
 * (2 channels) to a livemig destination: the test accepts the main connection and reads it with the
 * project's RAM loader (ZERO records, RAM EOS -> {@link MultifdReceiver#syncMain}), accepts the two multifd
 * connections into a {@link MultifdReceiver}, and compares the whole 64 MiB with the pattern. The main
 * stream is read up to the first non-RAM section (the device state), which this test does not decode.
 */
class MultifdQemuInteropTest {
    private static final String UUID_TEXT = "12345678-9abc-def0-1122-334455667788";
    private static final Duration WAIT = Duration.ofSeconds(60);

    @ParameterizedTest
    @EnumSource(MultifdCompression.class)
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void qemuMultifdSourceToLivemigReceiver(MultifdCompression compression, @TempDir Path dir) throws Exception {
        QemuProcess.qemuOrSkip();
        if (compression == MultifdCompression.ZSTD) {
            assumeTrue(ZstdNative.isAvailable(), "libzstd.so.1 missing: " + ZstdNative.unavailableReason());
        }
        byte[] pattern = TestPattern.bytes();
        Path patternFile = dir.resolve("pattern.bin");
        Files.write(patternFile, pattern);
        byte[] uuid = MultifdInitDescriptor.uuidBytes(UUID.fromString(UUID_TEXT));
        try (GuestMemory dst = GuestMemory.builder().anonymous("ram", TestPattern.RAM_BYTES).build();
             IncomingEndpoint endpoint = Transports.listen("tcp:127.0.0.1:0");
             MultifdReceiver receiver = new MultifdReceiver(dst, 2, compression, uuid)) {
            int port = ((MigrationUri.Tcp) endpoint.boundUri()).port();
            CompletableFuture<Integer> mainLoader = CompletableFuture.supplyAsync(() -> {
                try (MigrationChannel main = endpoint.accept()) {          // 7.2: the first connection is main
                    for (int i = 0; i < 2; i++) receiver.addChannel(endpoint.accept());
                    receiver.setFailureListener(e -> main.shutdown());
                    return loadRamSections(main, dst, receiver);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (QemuProcess q = QemuProcess.start(dir, List.of("-M", "none", "-nodefaults", "-m", "64M",
                    "-uuid", UUID_TEXT, "-device", "loader,file=" + patternFile + ",addr=0x"
                            + Long.toHexString(TestPattern.GPA) + ",force-raw=on", "-S"))) {
                q.execute("migrate-set-capabilities",
                        "{\"capabilities\": [{\"capability\": \"multifd\", \"state\": true}]}");
                q.execute("migrate-set-parameters", "{\"multifd-channels\": 2, \"multifd-compression\": \""
                        + compression.qapiName() + "\"}");
                q.execute("migrate", "{\"uri\": \"tcp:127.0.0.1:" + port + "\"}");
                Map<String, Object> st = q.awaitMigration(WAIT);
                assertEquals("completed", st.get("status"), "query-migrate: " + st + "; stderr: " + q.stderrText());
                int ramEos = mainLoader.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                receiver.awaitEnd(WAIT);
                TestPattern.assertRam(dst.block("ram").segment(), pattern);
                MultifdStats stats = receiver.stats();
                long pages = stats.channels().stream().mapToLong(MultifdChannelStats::pages).sum();
                System.out.println("QEMU -> livemig multifd " + compression.qapiName() + ": " + ramEos
                        + " RAM EOS on main, " + stats + ", qemu ram stats: " + st.get("ram"));
                Object multifdBytes = ((Map<?, ?>) st.get("ram")).get("multifd-bytes");
                long qemuBytes = ((Number) multifdBytes).longValue();
                // Equal in almost every run; QEMU 7.2's sync race (spec 3.3: a SYNC merged into a data packet,
                // or a header-only packet) can make its own count differ from what went on the wire by one header.
                assertTrue(Math.abs(qemuBytes - stats.multifdBytes()) <= MultifdPacketDescriptor.BYTES,
                        "our multifd-bytes " + stats.multifdBytes() + " vs QEMU's " + qemuBytes);
                // Every non-zero pattern page came over multifd. QEMU 7.2 occasionally sends one page twice
                // (its ram.normal then still says 192 while multifd-bytes counts both copies).
                assertTrue(pages >= TestPattern.PAGES - TestPattern.zeroPages(), "pages=" + pages);
                for (MultifdChannelStats c : stats.channels()) assertEquals(ramEos, c.syncs(), "one SYNC per channel per EOS");
            }
        }
    }

    /**
     * A minimal main-channel reader: header, configuration, then the RAM sections (START/PART/END) through
     * the project's {@link RamLoader}, syncing the multifd channels at every RAM EOS, until the first FULL
     * section (device state); the rest is drained. Returns the number of RAM EOS records.
     */
    private static int loadRamSections(MigrationChannel main, GuestMemory dst, MultifdReceiver receiver)
            throws IOException {
        StreamReader r = new StreamReader(main.readable());
        int eos = 0;
        try (RamLoader ram = new RamLoader(RamRegion.of(dst), false)) {
            SectionType.readFileHeader(r);
            int t = r.u8("configuration.type");
            if (t != SectionType.CONFIGURATION.code()) {
                throw new StreamFormatException("configuration.type", t, "0x7", r.position() - 1);
            }
            ConfigurationSection.readAfterType(r);
            while (true) {
                SectionType st = SectionType.of(r.u8("section.type"));
                if (st != SectionType.SECTION_START && st != SectionType.SECTION_PART && st != SectionType.SECTION_END) {
                    break; // device state: not this test's business
                }
                SectionHeader h = SectionHeader.readAfterType(r, st);
                if (st == SectionType.SECTION_START && !"ram".equals(h.idstr())) {
                    throw new StreamFormatException("section.idstr", h.idstr(), "ram", r.position());
                }
                ram.loadBody(r);
                receiver.syncMain(WAIT);
                eos++;
                SectionHeader.readFooter(r, h.sectionId(), "ram");
                if (st == SectionType.SECTION_END) break;
            }
        }
        byte[] drain = new byte[65536];
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(drain);
        while (main.readable().read(b.clear()) >= 0) {
            // the rest of the stream
        }
        return eos;
    }
}
