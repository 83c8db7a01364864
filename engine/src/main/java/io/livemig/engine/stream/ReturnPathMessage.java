package io.livemig.engine.stream;

/**
 * Messages on the return path, destination to source (spec 4.4).
 *
 * <pre>
 *   +-----------+----------+----------------+
 *   | be16 type | be16 len | payload (len)  |
 *   +-----------+----------+----------------+
 *   1 SHUT         4   be32 status (0 = ok)
 *   2 PONG         4   be32 echo of PING
 *   3 REQ_PAGES_ID 13+n be64 start, be32 len, u8 n, block name
 *   4 REQ_PAGES    12  be64 start, be32 len (block of the last REQ_PAGES_ID)
 *   5 RECV_BITMAP  1+n u8 n, block name; then the received-bitmap record (not counted in len):
 *                      be64 size, size bytes (little-endian bit order), be64 0x0123456789ABCDEF
 *   6 RESUME_ACK   4   be32 1
 * </pre>
 */
public sealed interface ReturnPathMessage {
    int SHUT = 1, PONG = 2, REQ_PAGES_ID = 3, REQ_PAGES = 4, RECV_BITMAP = 5, RESUME_ACK = 6;
    /** The source rejects larger payloads. */
    int MAX_PAYLOAD = 512;
    long RECV_BITMAP_END_MARKER = 0x0123456789ABCDEFL;

    record Shut(int status) implements ReturnPathMessage {}

    record Pong(int value) implements ReturnPathMessage {}

    record ReqPagesId(long start, int length, String block) implements ReturnPathMessage {}

    record ReqPages(long start, int length) implements ReturnPathMessage {}

    /** {@code bitmap} is the received-bitmap record's payload (little-endian bit order). */
    record RecvBitmap(String block, byte[] bitmap) implements ReturnPathMessage {}

    record ResumeAck(int value) implements ReturnPathMessage {}

    static void write(StreamWriter w, ReturnPathMessage m) {
        switch (m) {
            case Shut s -> w.be16(SHUT).be16(4).be32(s.status());
            case Pong p -> w.be16(PONG).be16(4).be32(p.value());
            case ReqPagesId q -> w.be16(REQ_PAGES_ID).be16(13 + q.block().length()).be64(q.start()).be32(q.length())
                    .countedString(q.block());
            case ReqPages q -> w.be16(REQ_PAGES).be16(12).be64(q.start()).be32(q.length());
            case RecvBitmap b -> {
                w.be16(RECV_BITMAP).be16(1 + b.block().length()).countedString(b.block());
                w.be64(b.bitmap().length).bytes(b.bitmap()).be64(RECV_BITMAP_END_MARKER);
            }
            case ResumeAck a -> w.be16(RESUME_ACK).be16(4).be32(a.value());
        }
    }

    /**
     * Reads one message. {@code maxBitmapBytes} bounds the received-bitmap size (the sum of the
     * destination's block sizes / 4096 / 8, rounded up to 8).
     */
    static ReturnPathMessage read(StreamReader r, long maxBitmapBytes) {
        long at = r.position();
        int type = r.be16("rp.type");
        long lenAt = r.position();
        int len = r.be16("rp.len");
        if (type == 0 || type > RESUME_ACK) throw new StreamFormatException("rp.type", type, "1..6", at);
        if (len > MAX_PAYLOAD) throw new StreamFormatException("rp.len", len, "<= " + MAX_PAYLOAD, lenAt);
        switch (type) {
            case SHUT, PONG, RESUME_ACK -> {
                expectLen(len, 4, type, lenAt);
                int v = r.be32("rp.value");
                if (type == RESUME_ACK && v != 1) {
                    throw new StreamFormatException("rp.resume_ack.value", v, "1", lenAt + 2);
                }
                return type == SHUT ? new Shut(v) : type == PONG ? new Pong(v) : new ResumeAck(v);
            }
            case REQ_PAGES -> {
                expectLen(len, 12, type, lenAt);
                return new ReqPages(r.be64("rp.req_pages.start"), r.be32("rp.req_pages.len"));
            }
            case REQ_PAGES_ID -> {
                if (len < 14) throw new StreamFormatException("rp.len", len, ">= 14 for REQ_PAGES_ID", lenAt);
                long start = r.be64("rp.req_pages.start");
                int plen = r.be32("rp.req_pages.len");
                long nAt = r.position();
                String name = r.countedString("rp.req_pages.block", false);
                if (13 + name.length() != len) {
                    throw new StreamFormatException("rp.req_pages.block.length", name.length(), (len - 13) + " (from rp.len)", nAt);
                }
                return new ReqPagesId(start, plen, name);
            }
            case RECV_BITMAP -> {
                long nAt = r.position();
                String name = r.countedString("rp.recv_bitmap.block", false);
                if (1 + name.length() != len) {
                    throw new StreamFormatException("rp.recv_bitmap.block.length", name.length(), (len - 1) + " (from rp.len)", nAt);
                }
                long sAt = r.position();
                long size = r.be64("rp.recv_bitmap.size");
                if (size < 0 || size > maxBitmapBytes || (size & 7) != 0) {
                    throw new StreamFormatException("rp.recv_bitmap.size", size,
                            "a multiple of 8 <= " + maxBitmapBytes, sAt);
                }
                byte[] bitmap = r.bytes((int) size, "rp.recv_bitmap.bitmap");
                long mAt = r.position();
                long marker = r.be64("rp.recv_bitmap.end_marker");
                if (marker != RECV_BITMAP_END_MARKER) {
                    throw new StreamFormatException("rp.recv_bitmap.end_marker", StreamFormatException.hex(marker),
                            "0x123456789abcdef", mAt);
                }
                return new RecvBitmap(name, bitmap);
            }
            default -> throw new AssertionError(type);
        }
    }

    private static void expectLen(int len, int expected, int type, long at) {
        if (len != expected) throw new StreamFormatException("rp.len", len, expected + " for type " + type, at);
    }
}
