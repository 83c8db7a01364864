package io.livemig.engine.multifd;

/**
 * {@code multifd-compression}: the compression method of every multifd channel, with the bits it sets in
 * a packet's flags (spec section 3.3: bits 1..3, mask {@code 0xE}).
 */
public enum MultifdCompression {
    NONE("none", 0x0),
    ZLIB("zlib", 0x2),
    ZSTD("zstd", 0x4);

    /** The compression bits of a packet's flags. */
    public static final int FLAGS_MASK = 0xE;

    private final String qapiName;
    private final int flagBits;

    MultifdCompression(String qapiName, int flagBits) {
        this.qapiName = qapiName;
        this.flagBits = flagBits;
    }

    /** The name QMP uses ({@code none}, {@code zlib}, {@code zstd}). */
    public String qapiName() {
        return qapiName;
    }

    /** What this method sets in {@code MultiFDPacket_t.flags}. */
    public int flagBits() {
        return flagBits;
    }

    /** The method for a QMP name (the value of the {@code multifd-compression} parameter). */
    public static MultifdCompression fromQapiName(String name) {
        for (MultifdCompression c : values()) {
            if (c.qapiName.equals(name)) return c;
        }
        throw new IllegalArgumentException("multifd-compression=" + name + ", expected none, zlib or zstd");
    }

    /** The method whose flag bits are {@code bits} ({@code flags & FLAGS_MASK}), or null. */
    static MultifdCompression fromFlagBits(int bits) {
        for (MultifdCompression c : values()) {
            if (c.flagBits == bits) return c;
        }
        return null;
    }
}
