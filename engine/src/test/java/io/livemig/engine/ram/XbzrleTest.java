package io.livemig.engine.ram;

import io.livemig.engine.stream.StreamFormatException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** XBZRLE vectors from the spec's rules (2.4) and QEMU 7.2's decoder checks. */
class XbzrleTest {
    private static final HexFormat HEX = HexFormat.of();

    private static String encode(byte[] oldPage, byte[] newPage) {
        byte[] dst = new byte[4096];
        int n = Xbzrle.encode(MemorySegment.ofArray(oldPage), MemorySegment.ofArray(newPage), dst, 4096);
        return n < 0 ? "overflow" : HEX.formatHex(dst, 0, n);
    }

    private static byte[] page() {
        return new byte[4096];
    }

    @Test
    void counterExampleFromRealCapture() {
        byte[] a = page();
        byte[] b = page();
        b[0x500] = (byte) 0xFF;
        assertEquals("800a01ff", encode(a, b)); // zrun 0x500 as 2-byte uleb, nzrun 1; trailing run omitted
    }

    @Test
    void ulebBoundaries() {
        byte[] a = page();
        byte[] b = page();
        b[0x7F] = 1;
        assertEquals("7f0101", encode(a, b));
        b = page();
        b[0x80] = 1;
        assertEquals("80010101", encode(a, b));
        b = page();
        b[0xFFF] = 7;
        assertEquals("ff1f0107", encode(a, b)); // 4095 = 0x7F | 0x1F << 7
    }

    @Test
    void firstZrunMayBeZeroAndRunsAreByteExact() {
        byte[] a = page();
        byte[] b = page();
        b[0] = 1;
        b[1] = 2;
        b[5] = 3;
        assertEquals("00020102" + "03" + "0103", encode(a, b));
    }

    @Test
    void identicalPageIsEmptyDelta() {
        byte[] a = page();
        new Random(1).nextBytes(a);
        assertEquals("", encode(a, a.clone()));
    }

    @Test
    void overflowWhenDeltaDoesNotFit() {
        byte[] a = page();
        byte[] b = page();
        Arrays.fill(b, (byte) 1);
        assertEquals("overflow", encode(a, b)); // 1 + 2 + 4096 > 4096
        byte[] c = page();
        for (int i = 0; i < 4096; i += 2) c[i] = 1; // 2048 pairs of 3 bytes
        assertEquals("overflow", encode(a, c));
        byte[] d = page();
        Arrays.fill(d, 0, 4090, (byte) 1); // 00 + uleb(4090) 2 bytes + 4090 = 4093 fits
        assertEquals(4093, HEX.parseHex(encode(a, d)).length);
    }

    @Test
    void changedRunEndResolvedWithinAWord() {
        byte[] a = page();
        byte[] b = page();
        for (int i = 8; i < 8 + 13; i++) b[i] = (byte) 0xEE; // crosses word boundaries, ends mid-word
        b[8 + 13 + 2] = 1;
        assertEquals("08" + "0d" + "ee".repeat(13) + "02" + "01" + "01", encode(a, b));
    }

    @Test
    void randomRoundTrips() {
        Random rnd = new Random(42);
        byte[] enc = new byte[4096];
        for (int t = 0; t < 2000; t++) {
            byte[] a = page();
            rnd.nextBytes(a);
            byte[] b = a.clone();
            int changes = rnd.nextInt(200);
            for (int k = 0; k < changes; k++) {
                int at = rnd.nextInt(4096);
                int len = 1 + rnd.nextInt(Math.min(64, 4096 - at));
                for (int i = 0; i < len; i++) b[at + i] = (byte) rnd.nextInt(256);
            }
            int n = Xbzrle.encode(MemorySegment.ofArray(a), MemorySegment.ofArray(b), enc, 4096);
            if (n < 0) continue;
            byte[] target = a.clone();
            Xbzrle.decode(enc, n, MemorySegment.ofArray(target), 0);
            assertArrayEquals(b, target, "case " + t);
            if (n == 0) assertArrayEquals(a, b);
        }
    }

    private static StreamFormatException decodeError(String hex) {
        byte[] d = HEX.parseHex(hex);
        byte[] target = page();
        StreamFormatException e = assertThrows(StreamFormatException.class,
                () -> Xbzrle.decode(d, d.length, MemorySegment.ofArray(target), 1000));
        assertArrayEquals(page(), target, "nothing applied on a bad delta");
        return e;
    }

    @Test
    void decoderRejectsWhatQemuRejects() {
        StreamFormatException e = decodeError("808001ff");
        assertEquals("ram.xbzrle.delta.zrun", e.field());
        assertEquals(1000, e.offset());
        assertTrue(e.getMessage().contains("second byte < 0x80"), e.getMessage());

        e = decodeError("0001aa" + "0001bb"); // second zrun 0
        assertEquals("ram.xbzrle.delta.zrun", e.field());
        assertEquals(1003, e.offset());

        e = decodeError("0500"); // nzrun 0 ... but only 1 byte left for nzrun first
        assertEquals("ram.xbzrle.delta.nzrun", e.field());

        e = decodeError("050000");
        assertEquals("ram.xbzrle.delta.nzrun", e.field());
        assertEquals("0", e.value());

        e = decodeError("05"); // one byte: less than 2 left at a zrun
        assertEquals("ram.xbzrle.delta.zrun", e.field());

        e = decodeError("ff1f02aabb"); // run past the page end (4095 + 2)
        assertEquals("ram.xbzrle.delta.nzrun", e.field());
        assertTrue(e.getMessage().contains("within the 4096-byte page"), e.getMessage());

        e = decodeError("0005aabb"); // nzrun longer than the remaining delta
        assertEquals("ram.xbzrle.delta.nzrun", e.field());
        assertEquals(1001, e.offset());

        e = decodeError("8140" + "01ff"); // zrun 0x2001 > 4096
        assertEquals("ram.xbzrle.delta.zrun", e.field());
    }

    @Test
    void decodeAppliesOnTopOfCurrentPage() {
        byte[] target = page();
        Arrays.fill(target, (byte) 9);
        byte[] d = HEX.parseHex("800a01ff");
        Xbzrle.decode(d, d.length, MemorySegment.ofArray(target), 0);
        assertEquals((byte) 0xFF, target[0x500]);
        assertEquals(9, target[0x4FF]);
        assertEquals(9, target[0x501]);
    }
}
