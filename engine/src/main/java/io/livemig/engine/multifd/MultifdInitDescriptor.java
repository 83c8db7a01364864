package io.livemig.engine.multifd;

import io.livemig.engine.stream.StreamFormatException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.UUID;

import static io.livemig.engine.stream.StreamFormatException.hex;

/**
 * {@code MultiFDInit_t}: the first 64 bytes of every multifd channel (spec section 3.2), big-endian, packed.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                     magic 0x11223344 (be32)                   |  0
 *  +---------------------------------------------------------------+
 *  |                     version 1 (be32)                          |  4
 *  +---------------------------------------------------------------+
 *  |                     uuid (16 raw bytes, qemu_uuid)            |  8
 *  |                                                               |
 *  +---------------+-----------------------------------------------+
 *  |   id (u8)     |        unused1 (7 bytes, zero)                | 24
 *  +---------------+-----------------------------------------------+
 *  |                     unused2 (4 x be64, zero)                  | 32
 *  +---------------------------------------------------------------+  64
 * </pre>
 *
 * <p>The destination rejects a wrong magic or version, a uuid different from its own, and an id that is
 * not below the channel count (QEMU 7.2 only rejects ids strictly greater than the count, an off-by-one
 * we do not copy) or that it already has (the latter is checked by {@link MultifdReceiver}).
 */
public final class MultifdInitDescriptor {
    public static final int MAGIC = 0x11223344;
    public static final int VERSION = 1;
    public static final int BYTES = 64;
    public static final int UUID_BYTES = 16;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int UUID_OFFSET = 8;
    public static final int ID_OFFSET = 24;
    public static final int UNUSED_OFFSET = 25;

    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private MultifdInitDescriptor() {
    }

    /** A decoded init packet. */
    public record Init(byte[] uuid, int channelId) {
        @Override
        public String toString() {
            return "Init[uuid=" + HexFormat.of().formatHex(uuid) + ", id=" + channelId + "]";
        }
    }

    /** Writes the 64-byte init packet into {@code dst[0..64)} (everything not named is zero). */
    public static void encode(MemorySegment dst, byte[] uuid, int channelId) {
        checkUuid(uuid);
        if (channelId < 0 || channelId > 255) {
            throw new IllegalArgumentException("channelId=" + channelId + ", expected 0..255");
        }
        dst.asSlice(0, BYTES).fill((byte) 0);
        dst.set(BE32, MAGIC_OFFSET, MAGIC);
        dst.set(BE32, VERSION_OFFSET, VERSION);
        MemorySegment.copy(MemorySegment.ofArray(uuid), 0, dst, UUID_OFFSET, UUID_BYTES);
        dst.set(ValueLayout.JAVA_BYTE, ID_OFFSET, (byte) channelId);
    }

    /**
     * Validates and decodes an init packet read at {@code streamOffset} of its channel.
     *
     * @param expectedUuid the destination's own uuid (16 bytes; all zero without {@code -uuid})
     * @param channels     the destination's {@code multifd-channels}
     * @throws StreamFormatException naming the first bad field
     */
    public static Init decode(MemorySegment src, long streamOffset, byte[] expectedUuid, int channels) {
        checkUuid(expectedUuid);
        int magic = src.get(BE32, MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new StreamFormatException("multifd.init.magic", hex(magic & 0xFFFFFFFFL), hex(MAGIC),
                    streamOffset + MAGIC_OFFSET);
        }
        int version = src.get(BE32, VERSION_OFFSET);
        if (version != VERSION) {
            throw new StreamFormatException("multifd.init.version", Integer.toUnsignedString(version),
                    String.valueOf(VERSION), streamOffset + VERSION_OFFSET);
        }
        byte[] uuid = src.asSlice(UUID_OFFSET, UUID_BYTES).toArray(ValueLayout.JAVA_BYTE);
        if (!Arrays.equals(uuid, expectedUuid)) {
            throw new StreamFormatException("multifd.init.uuid", uuidText(uuid),
                    "the destination's uuid " + uuidText(expectedUuid), streamOffset + UUID_OFFSET);
        }
        int id = Byte.toUnsignedInt(src.get(ValueLayout.JAVA_BYTE, ID_OFFSET));
        if (id >= channels) {
            throw new StreamFormatException("multifd.init.id", id, "0.." + (channels - 1)
                    + " (multifd-channels=" + channels + ")", streamOffset + ID_OFFSET);
        }
        return new Init(uuid, id);
    }

    /** The 16 raw bytes of a uuid, as QEMU puts {@code qemu_uuid} on the wire. */
    public static byte[] uuidBytes(UUID uuid) {
        byte[] b = new byte[UUID_BYTES];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 0, uuid.getMostSignificantBits());
        s.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 8, uuid.getLeastSignificantBits());
        return b;
    }

    /** The all-zero uuid a QEMU without {@code -uuid} sends. */
    public static byte[] noUuid() {
        return new byte[UUID_BYTES];
    }

    static String uuidText(byte[] uuid) {
        MemorySegment s = MemorySegment.ofArray(uuid);
        ValueLayout.OfLong be64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
        return new UUID(s.get(be64, 0), s.get(be64, 8)).toString();
    }

    private static void checkUuid(byte[] uuid) {
        if (uuid == null || uuid.length != UUID_BYTES) {
            throw new IllegalArgumentException("uuid must be " + UUID_BYTES + " bytes, got "
                    + (uuid == null ? "null" : uuid.length));
        }
    }
}
