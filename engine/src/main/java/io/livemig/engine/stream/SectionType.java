package io.livemig.engine.stream;

/**
 * Top-level type bytes of a QEMU 7.2 migration stream (spec 1.2) and the file header (spec 1.1).
 *
 * <pre>
 *  0      4      8
 *  +------+------+
 *  | QEVM | 0003 |   be32 magic 0x5145564D, be32 version 3 (2 = obsolete, rejected)
 *  +------+------+
 * </pre>
 */
public enum SectionType {
    EOF(0x00),
    SECTION_START(0x01),
    SECTION_PART(0x02),
    SECTION_END(0x03),
    SECTION_FULL(0x04),
    SUBSECTION(0x05),
    VMDESCRIPTION(0x06),
    CONFIGURATION(0x07),
    COMMAND(0x08),
    SECTION_FOOTER(0x7E);

    public static final int FILE_MAGIC = 0x5145564D;
    public static final int FILE_VERSION = 3;
    public static final int FILE_VERSION_OBSOLETE = 2;

    private final int code;

    SectionType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The type for {@code code}, or null when the byte is no section type. */
    public static SectionType of(int code) {
        for (SectionType t : values()) {
            if (t.code == code) return t;
        }
        return null;
    }

    /** Writes the 8-byte file header. */
    public static void writeFileHeader(StreamWriter w) {
        w.be32(FILE_MAGIC);
        w.be32(FILE_VERSION);
    }

    /** Reads and checks the 8-byte file header. */
    public static void readFileHeader(StreamReader r) {
        long at = r.position();
        int magic = r.be32("header.magic");
        if (magic != FILE_MAGIC) {
            throw new StreamFormatException("header.magic", StreamFormatException.hex(magic & 0xFFFFFFFFL),
                    "0x5145564d (\"QEVM\")", at);
        }
        at = r.position();
        int version = r.be32("header.version");
        if (version == FILE_VERSION_OBSOLETE) {
            throw new StreamFormatException("header.version", version, "3 (version 2 is obsolete)", at);
        }
        if (version != FILE_VERSION) {
            throw new StreamFormatException("header.version", version & 0xFFFFFFFFL, "3", at);
        }
    }
}
