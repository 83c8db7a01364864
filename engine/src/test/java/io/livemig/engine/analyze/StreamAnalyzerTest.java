package io.livemig.engine.analyze;

import io.livemig.engine.ram.RamRecord.Kind;
import io.livemig.engine.stream.MigrationStreams;
import io.livemig.engine.stream.SaveOptions;
import io.livemig.memory.GuestMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** {@code livemig analyze} on livemig's own streams, and on broken ones. */
class StreamAnalyzerTest {
    @TempDir
    Path dir;

    static byte[] livemigStream() {
        try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 1 << 20).build()) {
            mem.block("ram").segment().set(ValueLayout.JAVA_BYTE, 0x3000, (byte) 1);
            mem.block("ram").segment().set(ValueLayout.JAVA_BYTE, 0x9000, (byte) 2);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            MigrationStreams.saveAll(Channels.newChannel(out), mem, List.of(), SaveOptions.defaults().withRunState("paused"));
            return out.toByteArray();
        }
    }

    @Test
    void livemigStreamSectionsAndCounts() throws Exception {
        byte[] s = livemigStream();
        StreamAnalyzer.Report r = StreamAnalyzer.analyze(s);
        assertTrue(r.ok(), String.valueOf(r.error()));
        assertEquals("none", r.machine());
        assertEquals(List.of("START ram", "PART ram", "END ram", "FULL timer", "FULL globalstate"),
                r.sections().stream().map(x -> x.type() + " " + x.idstr()).toList());
        assertEquals(List.of(2, 2, 2, 0, 4), r.sections().stream().map(StreamAnalyzer.Section::sectionId).toList());
        assertEquals(2, r.ram().stats().count("ram", Kind.PAGE));
        assertEquals(254, r.ram().stats().count("ram", Kind.ZERO));
        assertEquals(1, r.ram().stats().total(Kind.MEM_SIZE));
        assertEquals(3, r.ram().stats().total(Kind.EOS));
        assertEquals(Map.of("ram", 1L << 20), r.ram().blockSizes());
        assertTrue(r.sections().get(4).fields().contains("size (uint32) = 7"), r.sections().get(4).fields().toString());
        assertEquals(24, r.sections().get(3).bodyBytes());
        assertEquals(104, r.sections().get(4).bodyBytes());
        assertTrue(r.eofSeen());
        assertNotNull(r.vmdescBytes());

        Path f = dir.resolve("s.mig");
        Files.write(f, s);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, StreamAnalyzer.run(f, false, new PrintStream(out, true), new PrintStream(err, true)));
        String text = out.toString();
        assertTrue(text.contains("ram (0x100000 bytes): ZERO=254 PAGE=2"), text);
        assertTrue(text.contains("runstate (buffer) = 70 61 75 73 65 64 (then 00 x94)"), text);
        assertTrue(text.endsWith("result: OK\n") || text.endsWith("result: OK" + System.lineSeparator()), text);
        out.reset();
        assertEquals(0, StreamAnalyzer.run(f, true, new PrintStream(out, true), new PrintStream(err, true)));
        @SuppressWarnings("unchecked")
        Map<String, Object> json = (Map<String, Object>) io.livemig.engine.qmp.Json.parse(out.toString().trim());
        assertEquals(Boolean.TRUE, json.get("ok"));
        @SuppressWarnings("unchecked")
        Map<String, Object> ram = (Map<String, Object>) ((Map<String, Object>) json.get("ram")).get("ram");
        assertEquals(254L, ram.get("ZERO"));
        assertEquals(2L, ram.get("PAGE"));
    }

    @Test
    void brokenStreamReportsWhereAndWhy() throws Exception {
        byte[] s = livemigStream();
        StreamAnalyzer.Report first = StreamAnalyzer.analyze(s);
        long partOffset = first.sections().get(1).offset();
        // Corrupt the flags of the first record of the PART section (offset+5 is its be64; low byte = flags).
        byte[] broken = s.clone();
        broken[(int) partOffset + 5 + 7] = 0x0A; // ZERO|PAGE
        StreamAnalyzer.Report r = StreamAnalyzer.analyze(broken);
        assertFalse(r.ok());
        assertEquals("ram.record.flags", r.error().field());
        assertEquals(partOffset + 5, r.error().offset());
        assertTrue(r.errorSection().startsWith("SECTION_PART section id 2 (ram)"), r.errorSection());
        assertEquals(1, r.sections().size());

        Path f = dir.resolve("broken.mig");
        Files.write(f, java.util.Arrays.copyOf(s, s.length - 600)); // truncated inside globalstate/vmdesc area
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(1, StreamAnalyzer.run(f, false, new PrintStream(out, true), new PrintStream(err, true)));
        assertTrue(out.toString().contains("result: ERROR at offset"), out.toString());
        assertTrue(err.toString().contains("stream stops parsing at offset"), err.toString());
        assertEquals(2, StreamAnalyzer.run(dir.resolve("missing.mig"), false, new PrintStream(out, true), new PrintStream(err, true)));
    }
}
