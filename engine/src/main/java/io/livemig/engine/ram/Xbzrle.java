package io.livemig.engine.ram;

import io.livemig.engine.stream.StreamFormatException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * XBZRLE delta encoding of one page against its previous contents (spec 2.4), byte-exact with QEMU 7.2.
 *
 * <pre>
 *   delta := (zrun nzrun)*        trailing unchanged run omitted; identical page = empty delta
 *   zrun  := uleb(n)              n unchanged bytes (only the first zrun may be 0)
 *   nzrun := uleb(m) byte[m]      m >= 1 new bytes
 *   uleb  := v < 0x80: [v]  |  v <= 0x3FFF: [(v &amp; 0x7F) | 0x80, v >> 7]   (never 3 bytes)
 * </pre>
 */
public final class Xbzrle {
    /** Returned by {@link #encode} when the delta does not fit {@code limit} bytes (send a PAGE instead). */
    public static final int OVERFLOW = -1;
    private static final ValueLayout.OfLong LE_WORD = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    private Xbzrle() {
    }

    /**
     * Encodes the delta from {@code oldPage} to {@code newPage} (same length, at most 0x3FFF bytes) into
     * {@code dst[0, limit)}. Returns the delta length (0 = unchanged, no record) or {@link #OVERFLOW}; the
     * overflow checks are QEMU's (before each run header 2 bytes must fit, and the nzrun bytes must fit).
     */
    public static int encode(MemorySegment oldPage, MemorySegment newPage, byte[] dst, int limit) {
        int n = (int) newPage.byteSize();
        if (oldPage.byteSize() != n || n > 0x3FFF) {
            throw new IllegalArgumentException("pages of " + oldPage.byteSize() + " and " + n + " bytes");
        }
        int i = 0;
        int d = 0;
        while (i < n) {
            if (d + 2 > limit) return OVERFLOW;
            long mm = MemorySegment.mismatch(oldPage, i, n, newPage, i, n);
            int zrunEnd = mm < 0 ? n : i + (int) mm;
            int zrun = zrunEnd - i;
            i = zrunEnd;
            if (zrun == n) return 0;
            if (i == n) return d;
            d += uleb(dst, d, zrun);
            if (d + 2 > limit) return OVERFLOW;
            int start = i;
            i = endOfChangedRun(oldPage, newPage, i, n);
            int nzrun = i - start;
            d += uleb(dst, d, nzrun);
            if (d + nzrun > limit) return OVERFLOW;
            MemorySegment.copy(newPage, ValueLayout.JAVA_BYTE, start, dst, d, nzrun);
            d += nzrun;
        }
        return d;
    }

    /** First index at or after {@code i} where the pages are equal, or {@code n}. */
    private static int endOfChangedRun(MemorySegment a, MemorySegment b, int i, int n) {
        while (i + 8 <= n) {
            long x = a.get(LE_WORD, i) ^ b.get(LE_WORD, i);
            long zeroBytes = (x - ONES) & ~x & HIGHS;
            // The lowest flagged byte is exactly the first equal byte (higher flags may be false positives).
            if (zeroBytes != 0) return i + (Long.numberOfTrailingZeros(zeroBytes) >>> 3);
            i += 8;
        }
        while (i < n && a.get(ValueLayout.JAVA_BYTE, i) != b.get(ValueLayout.JAVA_BYTE, i)) i++;
        return i;
    }

    private static int uleb(byte[] dst, int d, int v) {
        if (v < 0x80) {
            dst[d] = (byte) v;
            return 1;
        }
        dst[d] = (byte) ((v & 0x7F) | 0x80);
        dst[d + 1] = (byte) (v >>> 7);
        return 2;
    }

    /**
     * Checks {@code delta[0, len)} against QEMU 7.2's decoder rules for a page of {@code pageSize} bytes,
     * then applies it to {@code page}. Nothing is written unless the whole delta is valid.
     *
     * @param streamOffset stream offset of {@code delta[0]}, for error messages
     */
    public static void decode(byte[] delta, int len, MemorySegment page, long streamOffset) {
        int pageSize = (int) page.byteSize();
        walk(delta, len, pageSize, null, streamOffset);
        walk(delta, len, pageSize, page, streamOffset);
    }

    /** Validates only (the analyzer). */
    public static void validate(byte[] delta, int len, int pageSize, long streamOffset) {
        walk(delta, len, pageSize, null, streamOffset);
    }

    private static void walk(byte[] src, int slen, int dlen, MemorySegment dst, long at) {
        int i = 0;
        int d = 0;
        while (i < slen) {
            if (slen - i < 2) throw bad("zrun", "1 byte left", "at least 2 bytes left for a zrun", at + i);
            int count = ulebDecode(src, i, "zrun", at);
            if (i != 0 && count == 0) throw bad("zrun", 0, ">= 1 (only the first zrun may be 0)", at + i);
            i += count < 0x80 ? 1 : 2;
            d += count;
            if (d > dlen) throw bad("zrun", count, "a run ending within the " + dlen + "-byte page (ends at " + d + ")", at + i);
            if (slen - i < 2) throw bad("nzrun", (slen - i) + " byte(s) left", "at least 2 bytes left for an nzrun", at + i);
            int nAt = i;
            count = ulebDecode(src, i, "nzrun", at);
            if (count == 0) throw bad("nzrun", 0, ">= 1", at + i);
            i += count < 0x80 ? 1 : 2;
            if (d + count > dlen) {
                throw bad("nzrun", count, "a run ending within the " + dlen + "-byte page (ends at " + (d + count) + ")", at + nAt);
            }
            if (i + count > slen) {
                throw bad("nzrun", count, "at most " + (slen - i) + " bytes (the rest of the delta)", at + nAt);
            }
            if (dst != null) MemorySegment.copy(src, i, dst, ValueLayout.JAVA_BYTE, d, count);
            d += count;
            i += count;
        }
    }

    private static int ulebDecode(byte[] src, int i, String what, long at) {
        int b0 = src[i] & 0xFF;
        if ((b0 & 0x80) == 0) return b0;
        int b1 = src[i + 1] & 0xFF;
        if ((b1 & 0x80) != 0) {
            throw bad(what, "uleb " + StreamFormatException.hex(b0) + " " + StreamFormatException.hex(b1) + " ...",
                    "a 1- or 2-byte uleb (second byte < 0x80)", at + i);
        }
        return (b0 & 0x7F) | (b1 << 7);
    }

    private static StreamFormatException bad(String what, Object value, String expected, long offset) {
        return new StreamFormatException("ram.xbzrle.delta." + what, value, expected, offset);
    }
}
