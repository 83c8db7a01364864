package io.livemig.engine.ram;

import io.livemig.engine.stream.StreamFormatException;
import io.livemig.engine.stream.StreamReader;
import io.livemig.engine.stream.StreamWriter;
import io.livemig.memory.DirtyBitmap;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import static io.livemig.engine.ram.RamRecord.*;
import static org.junit.jupiter.api.Assertions.*;

/** RAM record codec: saver/loader round trips, what the loader tolerates and what it refuses (with offsets). */
class RamCodecTest {
    private static final int PAGES = 16;
    private static final long GUARD = 8192;

    /** A block that is the middle of a larger buffer whose guard bytes must stay 0xCC. */
    static final class Guarded implements AutoCloseable {
        final Arena arena = Arena.ofConfined();
        final MemorySegment all;
        final RamRegion region;

        Guarded(String name, long size) {
            all = arena.allocate(size + 2 * GUARD, 4096);
            all.fill((byte) 0xCC);
            MemorySegment ram = all.asSlice(GUARD, size);
            ram.fill((byte) 0);
            region = new RamRegion(name, ram);
        }

        void assertGuardsIntact() {
            for (long i = 0; i < GUARD; i++) {
                if (all.get(ValueLayout.JAVA_BYTE, i) != (byte) 0xCC
                        || all.get(ValueLayout.JAVA_BYTE, all.byteSize() - 1 - i) != (byte) 0xCC) {
                    throw new AssertionError("guard byte overwritten near " + i);
                }
            }
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    private static byte[] body(Consumer<StreamWriter> c) {
        return StreamWriter.toBytes(c);
    }

    private static StreamFormatException loadError(byte[] stream, boolean compress) {
        try (Guarded g = new Guarded("ram", PAGES * 4096L); RamLoader l = new RamLoader(List.of(g.region), compress)) {
            StreamFormatException e = assertThrows(StreamFormatException.class, () -> l.loadBody(StreamReader.of(stream)));
            g.assertGuardsIntact();
            return e;
        }
    }

    @Test
    void roundTripAllKindsWithGuards() {
        Random rnd = new Random(7);
        try (Guarded src = new Guarded("ram", PAGES * 4096L); Guarded dst = new Guarded("ram", PAGES * 4096L)) {
            MemorySegment s = src.region.segment();
            for (int p = 0; p < PAGES; p += 2) {
                byte[] b = new byte[4096];
                rnd.nextBytes(b);
                MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, p * 4096L, 4096);
            }
            for (RamSaveOptions opts : List.of(RamSaveOptions.defaults(), RamSaveOptions.defaults().withCompress(1),
                    RamSaveOptions.defaults().withXbzrle(1 << 20))) {
                dst.region.segment().fill((byte) 0x5A);
                byte[] stream = body(w -> {
                    try (RamSaver saver = new RamSaver(w, List.of(src.region), opts)) {
                        saver.writeSetup();
                        DirtyBitmap d = new DirtyBitmap(PAGES);
                        d.setAll();
                        saver.savePass(List.of(d));
                        saver.writeEos();
                        s.set(ValueLayout.JAVA_BYTE, 3 * 4096 + 100, (byte) 1); // page 3: zero -> one byte
                        s.set(ValueLayout.JAVA_BYTE, 4 * 4096 + 5, (byte) ~s.get(ValueLayout.JAVA_BYTE, 4 * 4096 + 5));
                        d.set(3);
                        d.set(4);
                        saver.savePass(List.of(d));
                        saver.writeEos();
                        if (opts.xbzrle()) assertEquals(2, saver.stats().count("ram", Kind.XBZRLE), saver.stats().toString());
                        if (opts.compress()) assertTrue(saver.stats().count("ram", Kind.COMPRESS_PAGE) >= 8);
                    }
                });
                try (RamLoader l = new RamLoader(List.of(dst.region), opts.compress())) {
                    StreamReader r = StreamReader.of(stream);
                    l.loadBody(r);
                    l.loadBody(r);
                    l.loadBody(r);
                    assertTrue(r.atEnd());
                    assertTrue(l.setupSeen());
                }
                assertEquals(-1, s.mismatch(dst.region.segment()), "options " + opts);
                dst.assertGuardsIntact();
                s.set(ValueLayout.JAVA_BYTE, 3 * 4096 + 100, (byte) 0);
            }
        }
    }

    @Test
    void setupRecordBytes() {
        try (Guarded g = new Guarded("ram", 0x4000000L)) {
            byte[] b = body(w -> new RamSaver(w, List.of(g.region), RamSaveOptions.defaults()).writeSetup());
            // spec 9.1 offsets 0x22..0x3d
            assertEquals("0000000004000004" + "0372616d" + "0000000004000000" + "0000000000000010", HexFormat.of().formatHex(b));
        }
    }

    @Test
    void zeroWithNonZeroFillIsHonoured() {
        byte[] stream = body(w -> w.be64(0x2000 | FLAG_ZERO).countedString("ram").u8(0xAB).be64(FLAG_EOS));
        try (Guarded g = new Guarded("ram", PAGES * 4096L); RamLoader l = new RamLoader(List.of(g.region), false)) {
            l.loadBody(StreamReader.of(stream));
            MemorySegment page = g.region.segment().asSlice(0x2000, 4096);
            for (int i = 0; i < 4096; i++) assertEquals((byte) 0xAB, page.get(ValueLayout.JAVA_BYTE, i));
            assertEquals(0, g.region.segment().get(ValueLayout.JAVA_BYTE, 0x1FFF));
            assertEquals(0, g.region.segment().get(ValueLayout.JAVA_BYTE, 0x3000));
        }
    }

    @Test
    void continueWithoutNamedBlockIsRefused() {
        StreamFormatException e = loadError(body(w -> w.be64(0x1000 | FLAG_ZERO | FLAG_CONTINUE).u8(0)), false);
        assertEquals("ram.record.flags", e.field());
        assertEquals("0x22", e.value());
        assertEquals(0, e.offset());
        assertTrue(e.getMessage().contains("CONTINUE"), e.getMessage());
    }

    @Test
    void offsetBeyondBlockIsRefused() {
        StreamFormatException e = loadError(body(w -> w.be64(PAGES * 4096L | FLAG_PAGE).countedString("ram")), false);
        assertEquals("ram.record.offset", e.field());
        assertEquals("0x10000", e.value());
        assertEquals(0, e.offset());
        assertTrue(e.getMessage().startsWith("ram.record.offset=0x10000, expected a page offset < 0x10000"), e.getMessage());
    }

    @Test
    void hugeOffsetIsRefused() {
        StreamFormatException e = loadError(body(w -> w.be64(0xFFFFFFFFFFFFF000L | FLAG_ZERO).countedString("ram").u8(0)), false);
        assertEquals("ram.record.offset", e.field());
    }

    @Test
    void unknownBlockNamed() {
        StreamFormatException e = loadError(body(w -> w.be64(FLAG_PAGE).countedString("pc.ram")), false);
        assertEquals("ram.record.block_name", e.field());
        assertEquals("\"pc.ram\"", e.value());
        assertEquals(8, e.offset());
    }

    @Test
    void setupMismatches() {
        StreamFormatException e = loadError(body(w -> w.be64(0x20000 | FLAG_MEM_SIZE).countedString("ram").be64(0x20000)), false);
        assertEquals("ram.setup.used_length", e.field());
        assertEquals(12, e.offset());
        e = loadError(body(w -> w.be64(0x10000 | FLAG_MEM_SIZE).countedString("vga.vram").be64(0x10000)), false);
        assertEquals("ram.setup.block_name", e.field());
        e = loadError(body(w -> w.be64(0x10000 | FLAG_MEM_SIZE).u8(0)), false);
        assertEquals("ram.setup.block_name.length", e.field());
    }

    @Test
    void flagCombinationsRefused() {
        for (int flags : new int[] {FLAG_FULL, FLAG_HOOK, FLAG_PAGE | FLAG_ZERO, 0x200, 0, FLAG_XBZRLE | FLAG_PAGE}) {
            StreamFormatException e = loadError(body(w -> w.be64(flags).countedString("ram").zeros(4200)), false);
            assertEquals("ram.record.flags", e.field(), "flags " + flags);
            assertEquals(0, e.offset());
        }
    }

    @Test
    void compressedPageNeedsCapability() {
        StreamFormatException e = loadError(body(w -> w.be64(FLAG_COMPRESS_PAGE).countedString("ram").be32(2).u8(0x78).u8(1)), false);
        assertTrue(e.getMessage().contains("compress capability is off"));
        e = loadError(body(w -> w.be64(FLAG_COMPRESS_PAGE).countedString("ram").be32(4111)), true);
        assertEquals("ram.compress.len", e.field());
        assertEquals("4111", e.value());
        assertEquals(12, e.offset());
        e = loadError(body(w -> w.be64(FLAG_COMPRESS_PAGE).countedString("ram").be32(3).u8(0x78).u8(1).u8(0xFF)), true);
        assertEquals("ram.compress.data", e.field());
    }

    @Test
    void xbzrleRecordChecks() {
        StreamFormatException e = loadError(body(w -> w.be64(FLAG_XBZRLE).countedString("ram").u8(2)), false);
        assertEquals("ram.xbzrle.encoding", e.field());
        assertEquals(12, e.offset());
        e = loadError(body(w -> w.be64(FLAG_XBZRLE).countedString("ram").u8(1).be16(4097)), false);
        assertEquals("ram.xbzrle.len", e.field());
        assertEquals(13, e.offset());
    }

    @Test
    void truncationNamesFieldAndOffset() {
        StreamFormatException e = loadError(body(w -> w.be64(FLAG_PAGE).countedString("ram").zeros(100)), false);
        assertEquals("ram.page.data", e.field());
        assertEquals("end of stream", e.value());
        assertEquals(12 + 100, e.offset());
        e = loadError(new byte[] {0, 0, 0}, false);
        assertEquals("ram.record", e.field());
    }

    @Test
    void xbzrleOverflowFallsBackToPage() {
        try (Guarded src = new Guarded("ram", PAGES * 4096L)) {
            byte[] stream = body(w -> {
                try (RamSaver saver = new RamSaver(w, List.of(src.region), RamSaveOptions.defaults().withXbzrle(1 << 20))) {
                    src.region.segment().asSlice(0, 4096).fill((byte) 1);
                    DirtyBitmap d = new DirtyBitmap(PAGES);
                    d.set(0);
                    saver.savePass(List.of(d));
                    src.region.segment().asSlice(0, 4096).fill((byte) 2);
                    d.set(0);
                    saver.savePass(List.of(d));
                    assertEquals(1, saver.stats().xbzrleOverflow());
                    assertEquals(2, saver.stats().count("ram", Kind.PAGE));
                    assertEquals(0, saver.stats().count("ram", Kind.XBZRLE));
                }
            });
            assertEquals(2 * (8 + 4096) + 4, stream.length);
        }
    }
}
