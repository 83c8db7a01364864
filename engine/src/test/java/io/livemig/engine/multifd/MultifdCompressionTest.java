package io.livemig.engine.multifd;

import io.livemig.engine.stream.StreamFormatException;
import io.livemig.sys.zstd.ZstdNative;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.zip.Inflater;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class MultifdCompressionTest {
    private static final int PACKETS = 60;
    private final Arena arena = Arena.ofShared();

    /** Packet i holds (i % 128) + 1 pages: compressible text pages mixed with random pages. */
    private MemorySegment[] packetPages(int i, Random rnd) {
        int pages = (i % 128) + 1;
        MemorySegment run = arena.allocate((long) pages * 4096, 4096);
        for (int p = 0; p < pages; p++) {
            MemorySegment page = run.asSlice((long) p * 4096, 4096);
            if ((p + i) % 3 == 0) {
                byte[] b = new byte[4096];
                rnd.nextBytes(b);
                MemorySegment.copy(MemorySegment.ofArray(b), 0, page, 0, 4096);
            } else {
                for (int j = 0; j < 4096; j++) page.set(ValueLayout.JAVA_BYTE, j, (byte) ("PAGE" + i + "-" + p).charAt(j % 6));
            }
        }
        // two runs, to exercise multi-run input
        long half = (pages / 2) * 4096L;
        return half == 0 ? new MemorySegment[] {run} : new MemorySegment[] {run.asSlice(0, half), run.asSlice(half)};
    }

    @Test
    void zlibStreamIsOneDeflateStreamNeverResetWithSyncFlushPerPacket() throws Exception {
        Random rnd = new Random(1);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        try (ZlibPacketCompressor c = new ZlibPacketCompressor(1); ZlibPacketDecompressor d = new ZlibPacketDecompressor()) {
            for (int i = 0; i < PACKETS; i++) {
                MemorySegment[] runs = packetPages(i, rnd);
                byte[] payload = c.compress(runs, runs.length).toArray(ValueLayout.JAVA_BYTE);
                if (i == 0) assertEquals("7801", HexFormat.of().formatHex(payload, 0, 2), "zlib header on the first payload");
                else assertTrue(!(payload[0] == 0x78 && payload[1] == 0x01), "no zlib header after the first payload");
                assertEquals("0000ffff", HexFormat.of().formatHex(payload, payload.length - 4, payload.length),
                        "every payload ends with the sync-flush marker");
                all.write(payload);
                MemorySegment[] out = outRuns(runs);
                d.decompress(copyNative(payload), out, out.length, 0);
                for (int r = 0; r < runs.length; r++) {
                    assertEquals(-1, runs[r].mismatch(out[r]), "packet " + i + " run " + r);
                    expected.write(runs[r].toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
        // One Inflater over the concatenated payloads: only works if the deflate stream was never reset.
        Inflater inf = new Inflater();
        inf.setInput(all.toByteArray());
        byte[] exp = expected.toByteArray();
        byte[] got = new byte[exp.length];
        int n = 0;
        while (n < got.length) {
            int k = inf.inflate(got, n, got.length - n);
            if (k == 0) break;
            n += k;
        }
        assertEquals(exp.length, n);
        assertArrayEquals(exp, got);
        assertTrue(!inf.finished(), "the stream is never finished");
    }

    @Test
    void zstdStreamIsOneContextFlushedPerPacket() {
        assumeTrue(ZstdNative.isAvailable(), "libzstd.so.1 missing: " + ZstdNative.unavailableReason());
        Random rnd = new Random(2);
        try (ZstdPacketCompressor c = new ZstdPacketCompressor(1); ZstdPacketDecompressor d = new ZstdPacketDecompressor()) {
            for (int i = 0; i < PACKETS; i++) {
                MemorySegment[] runs = packetPages(i, rnd);
                byte[] payload = c.compress(runs, runs.length).toArray(ValueLayout.JAVA_BYTE);
                boolean magic = payload.length >= 4 && "28b52ffd".equals(HexFormat.of().formatHex(payload, 0, 4));
                assertEquals(i == 0, magic, "frame header only on the first payload (packet " + i + ")");
                MemorySegment[] out = outRuns(runs);
                d.decompress(copyNative(payload), out, out.length, 0);
                for (int r = 0; r < runs.length; r++) assertEquals(-1, runs[r].mismatch(out[r]), "packet " + i);
            }
        }
    }

    @Test
    void zlibRejectsCorruptTruncatedAndOverlongPayloads() {
        Random rnd = new Random(3);
        MemorySegment[] runs = packetPages(5, rnd);
        byte[] payload;
        try (ZlibPacketCompressor c = new ZlibPacketCompressor(1)) {
            payload = c.compress(runs, runs.length).toArray(ValueLayout.JAVA_BYTE);
        }
        try (ZlibPacketDecompressor d = new ZlibPacketDecompressor()) {
            MemorySegment[] out = outRuns(runs);
            StreamFormatException e = assertThrows(StreamFormatException.class,
                    () -> d.decompress(copyNative(Arrays.copyOf(payload, payload.length / 2)), out, out.length, 5000));
            assertTrue(e.getMessage().startsWith("multifd.packet.payload=zlib data for "), e.getMessage());
            assertTrue(e.getMessage().endsWith(" bytes, expected 24576 bytes (normal_pages x 4096) (at stream offset 5000)"),
                    e.getMessage());
        }
        try (ZlibPacketDecompressor d = new ZlibPacketDecompressor()) {
            byte[] bad = payload.clone();
            bad[0] = 0x12;
            MemorySegment[] out = outRuns(runs);
            StreamFormatException e = assertThrows(StreamFormatException.class,
                    () -> d.decompress(copyNative(bad), out, out.length, 100));
            assertEquals("multifd.packet.payload=corrupt zlib data (incorrect header check), expected the channel's zlib "
                    + "stream (at stream offset 100)", e.getMessage());
        }
        try (ZlibPacketDecompressor d = new ZlibPacketDecompressor()) {
            MemorySegment[] out = outRuns(runs);
            MemorySegment[] fewer = {out[0]}; // the payload holds more pages than the header says
            StreamFormatException e = assertThrows(StreamFormatException.class,
                    () -> d.decompress(copyNative(payload), fewer, 1, 0));
            assertEquals("multifd.packet.payload=zlib data for more than " + out[0].byteSize() + " bytes, expected "
                    + out[0].byteSize() + " bytes (normal_pages x 4096) (at stream offset 0)", e.getMessage());
        }
    }

    @Test
    void zstdRejectsCorruptPayload() {
        assumeTrue(ZstdNative.isAvailable(), "libzstd.so.1 missing: " + ZstdNative.unavailableReason());
        MemorySegment[] runs = packetPages(7, new Random(4));
        try (ZstdPacketDecompressor d = new ZstdPacketDecompressor()) {
            MemorySegment[] out = outRuns(runs);
            byte[] junk = new byte[100];
            Arrays.fill(junk, (byte) 0x41);
            StreamFormatException e = assertThrows(StreamFormatException.class,
                    () -> d.decompress(copyNative(junk), out, out.length, 64));
            assertEquals("multifd.packet.payload=corrupt zstd data (ZSTD_decompressStream failed: Unknown frame "
                    + "descriptor), expected the channel's zstd stream (at stream offset 64)", e.getMessage());
        }
    }

    private MemorySegment[] outRuns(MemorySegment[] runs) {
        MemorySegment[] out = new MemorySegment[runs.length];
        for (int i = 0; i < runs.length; i++) out[i] = arena.allocate(runs[i].byteSize(), 4096);
        return out;
    }

    private MemorySegment copyNative(byte[] b) {
        MemorySegment s = arena.allocate(Math.max(1, b.length));
        MemorySegment.copy(MemorySegment.ofArray(b), 0, s, 0, b.length);
        return s.asSlice(0, b.length);
    }
}
