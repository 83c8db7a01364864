package io.livemig.engine.stream;

import java.nio.charset.StandardCharsets;

/**
 * The JSON vmdesc trailer after EOF (spec 5.5).
 *
 * <pre>
 *   +----+-------------+--------------------------+
 *   | 06 | be32 length | UTF-8 JSON (length), no NUL |
 *   +----+-------------+--------------------------+
 * </pre>
 */
public final class VmDescriptionTrailer {
    /** Upper bound on the JSON length a loader accepts (QEMU's are a few hundred KiB at most). */
    public static final int MAX_JSON_BYTES = 16 << 20;

    private VmDescriptionTrailer() {
    }

    public static void write(StreamWriter w, String json) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        w.u8(SectionType.VMDESCRIPTION.code());
        w.be32(b.length);
        w.bytes(b);
    }

    /** Reads the JSON after the 0x06 type byte. */
    public static String readAfterType(StreamReader r) {
        long at = r.position();
        long len = r.be32u("vmdesc.length");
        if (len > MAX_JSON_BYTES) throw new StreamFormatException("vmdesc.length", len, "<= " + MAX_JSON_BYTES, at);
        return new String(r.bytes((int) len, "vmdesc.json"), StandardCharsets.UTF_8);
    }
}
