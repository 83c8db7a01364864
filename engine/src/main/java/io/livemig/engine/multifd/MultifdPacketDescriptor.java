package io.livemig.engine.multifd;

import io.livemig.engine.stream.StreamFormatException;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static io.livemig.engine.stream.StreamFormatException.hex;

/**
 * {@code MultiFDPacket_t}: the fixed-size header in front of every multifd packet (spec section 3.3),
 * big-endian, packed, always {@value #BYTES} bytes on x86 (320 + 8 x 128), whatever the page count.
 *
 * <pre>
 *  offset  size        field
 *  +------+-----------+-------------------------------------------------------------+
 *  |    0 | be32      | magic 0x11223344                                             |
 *  |    4 | be32      | version 1                                                    |
 *  |    8 | be32      | flags: bit0 SYNC | bits1..3 compression (0 none, 2 zlib, 4 zstd)|
 *  |   12 | be32      | pages_alloc (128; must be <= 128)                            |
 *  |   16 | be32      | normal_pages (0..pages_alloc)                                |
 *  |   20 | be32      | next_packet_size: payload bytes after this header            |
 *  |   24 | be64      | packet_num (one counter shared by all channels; informational)|
 *  |   32 | 4 x be64  | reserved (zero)                                              |
 *  |   64 | 256 bytes | ramblock idstr, NUL padded (byte 255 forced to NUL)          |
 *  |  320 | 128 x be64| offsets[]: page offsets inside the block; first normal_pages |
 *  +------+-----------+-------------------------------------------------------------+  1344
 *  payload (only when normal_pages > 0):
 *    none      : normal_pages x 4096 bytes, pages in offsets[] order
 *    zlib/zstd : next_packet_size bytes of the channel's compressed stream
 * </pre>
 *
 * <p>Tolerated as QEMU 7.2 sends them (spec 3.3): when {@code normal_pages == 0}, {@code ramblock},
 * {@code next_packet_size}, the offsets and the compression bits are stale or zero and are not looked at;
 * offsets beyond {@code normal_pages} are leftovers. Rejected: wrong magic/version, flag bits other than
 * SYNC and one known compression, {@code pages_alloc > 128}, {@code normal_pages > pages_alloc}, a
 * compression other than the negotiated one, an unknown block, an offset that is unaligned or beyond
 * {@code used_length - 4096}, a {@code next_packet_size} that does not fit the compression.
 */
public final class MultifdPacketDescriptor {
    public static final int MAGIC = 0x11223344;
    public static final int VERSION = 1;
    public static final int FLAG_SYNC = 0x1;
    /** 512 KiB / 4 KiB: the page capacity of one packet on x86. */
    public static final int PAGES_PER_PACKET = 128;
    public static final int PAGE_SIZE = RamBlock.TARGET_PAGE_SIZE;
    public static final int RAMBLOCK_BYTES = 256;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 4;
    public static final int FLAGS_OFFSET = 8;
    public static final int PAGES_ALLOC_OFFSET = 12;
    public static final int NORMAL_PAGES_OFFSET = 16;
    public static final int NEXT_PACKET_SIZE_OFFSET = 20;
    public static final int PACKET_NUM_OFFSET = 24;
    public static final int RESERVED_OFFSET = 32;
    public static final int RAMBLOCK_OFFSET = 64;
    public static final int OFFSETS_OFFSET = 320;
    public static final int BYTES = OFFSETS_OFFSET + 8 * PAGES_PER_PACKET;

    /**
     * Largest compressed payload accepted: the raw size plus zlib/zstd worst-case expansion with room to
     * spare (a compressor never legitimately produces more).
     */
    public static final int MAX_COMPRESSED_PAYLOAD_BYTES = PAGES_PER_PACKET * PAGE_SIZE + 64 * 1024;

    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfLong BE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private MultifdPacketDescriptor() {
    }

    /**
     * A decoded header. {@code block} is null and {@code offsets} empty when {@code normalPages == 0}.
     * {@code offsets} holds exactly {@code normalPages} validated byte offsets inside {@code block}.
     */
    public record Header(int flags, int pagesAlloc, int normalPages, int nextPacketSize, long packetNum,
                         RamBlock block, long[] offsets) {
        public boolean sync() {
            return (flags & FLAG_SYNC) != 0;
        }
    }

    /**
     * Writes a header into {@code dst[0..BYTES)}.
     *
     * @param flags          SYNC and/or compression bits
     * @param blockName      the RAM block idstr (at most 255 bytes of UTF-8); may be null when {@code count == 0}
     * @param offsets        page offsets; the first {@code count} are written, the rest of the array zeroed
     * @param nextPacketSize payload bytes that follow
     */
    public static void encode(MemorySegment dst, int flags, int count, int nextPacketSize, long packetNum,
                              String blockName, long[] offsets) {
        if (count < 0 || count > PAGES_PER_PACKET) {
            throw new IllegalArgumentException("count=" + count + ", expected 0.." + PAGES_PER_PACKET);
        }
        dst.asSlice(0, BYTES).fill((byte) 0);
        dst.set(BE32, MAGIC_OFFSET, MAGIC);
        dst.set(BE32, VERSION_OFFSET, VERSION);
        dst.set(BE32, FLAGS_OFFSET, flags);
        dst.set(BE32, PAGES_ALLOC_OFFSET, PAGES_PER_PACKET);
        dst.set(BE32, NORMAL_PAGES_OFFSET, count);
        dst.set(BE32, NEXT_PACKET_SIZE_OFFSET, nextPacketSize);
        dst.set(BE64, PACKET_NUM_OFFSET, packetNum);
        if (blockName != null) {
            byte[] name = blockName.getBytes(StandardCharsets.UTF_8);
            if (name.length > RAMBLOCK_BYTES - 1) {
                throw new IllegalArgumentException("RAM block name '" + blockName + "' is " + name.length
                        + " bytes, expected at most " + (RAMBLOCK_BYTES - 1));
            }
            MemorySegment.copy(MemorySegment.ofArray(name), 0, dst, RAMBLOCK_OFFSET, name.length);
        }
        for (int i = 0; i < count; i++) {
            dst.set(BE64, OFFSETS_OFFSET + 8L * i, offsets[i]);
        }
    }

    /**
     * Validates and decodes a header read at {@code streamOffset} of its channel.
     *
     * @param memory      where block names are resolved and offsets bounds-checked
     * @param compression the negotiated {@code multifd-compression}
     * @throws StreamFormatException naming the first bad field, its value, what was expected and its offset
     */
    public static Header decode(MemorySegment src, long streamOffset, GuestMemory memory,
                                MultifdCompression compression) {
        int magic = src.get(BE32, MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new StreamFormatException("multifd.packet.magic", hex(magic & 0xFFFFFFFFL), hex(MAGIC),
                    streamOffset + MAGIC_OFFSET);
        }
        int version = src.get(BE32, VERSION_OFFSET);
        if (version != VERSION) {
            throw new StreamFormatException("multifd.packet.version", Integer.toUnsignedString(version),
                    String.valueOf(VERSION), streamOffset + VERSION_OFFSET);
        }
        int flags = src.get(BE32, FLAGS_OFFSET);
        if ((flags & ~(FLAG_SYNC | MultifdCompression.FLAGS_MASK)) != 0
                || MultifdCompression.fromFlagBits(flags & MultifdCompression.FLAGS_MASK) == null) {
            throw new StreamFormatException("multifd.packet.flags", hex(flags & 0xFFFFFFFFL),
                    "SYNC (0x1) plus one of none (0x0), zlib (0x2), zstd (0x4)", streamOffset + FLAGS_OFFSET);
        }
        long pagesAlloc = Integer.toUnsignedLong(src.get(BE32, PAGES_ALLOC_OFFSET));
        if (pagesAlloc > PAGES_PER_PACKET) {
            throw new StreamFormatException("multifd.packet.pages_alloc", pagesAlloc,
                    "at most " + PAGES_PER_PACKET, streamOffset + PAGES_ALLOC_OFFSET);
        }
        long normal = Integer.toUnsignedLong(src.get(BE32, NORMAL_PAGES_OFFSET));
        if (normal > pagesAlloc) {
            throw new StreamFormatException("multifd.packet.normal_pages", normal,
                    "at most pages_alloc=" + pagesAlloc, streamOffset + NORMAL_PAGES_OFFSET);
        }
        long nextSize = Integer.toUnsignedLong(src.get(BE32, NEXT_PACKET_SIZE_OFFSET));
        long packetNum = src.get(BE64, PACKET_NUM_OFFSET);
        int count = (int) normal;
        if (count == 0) {
            // Stale ramblock, offsets, size and compression bits are ignored, as QEMU does (spec 3.3).
            return new Header(flags, (int) pagesAlloc, 0, (int) nextSize, packetNum, null, new long[0]);
        }
        int compBits = flags & MultifdCompression.FLAGS_MASK;
        if (compBits != compression.flagBits()) {
            throw new StreamFormatException("multifd.packet.flags", hex(flags & 0xFFFFFFFFL),
                    "compression bits " + hex(compression.flagBits()) + " (multifd-compression="
                            + compression.qapiName() + ")", streamOffset + FLAGS_OFFSET);
        }
        if (compression == MultifdCompression.NONE) {
            if (nextSize != normal * PAGE_SIZE) {
                throw new StreamFormatException("multifd.packet.next_packet_size", nextSize,
                        normal * PAGE_SIZE + " (normal_pages=" + normal + " x " + PAGE_SIZE + ")",
                        streamOffset + NEXT_PACKET_SIZE_OFFSET);
            }
        } else if (nextSize == 0 || nextSize > MAX_COMPRESSED_PAYLOAD_BYTES) {
            throw new StreamFormatException("multifd.packet.next_packet_size", nextSize,
                    "1.." + MAX_COMPRESSED_PAYLOAD_BYTES + " bytes of " + compression.qapiName() + " data",
                    streamOffset + NEXT_PACKET_SIZE_OFFSET);
        }
        String name = blockName(src);
        if (name.isEmpty() || !memory.hasBlock(name)) {
            throw new StreamFormatException("multifd.packet.ramblock", "'" + name + "'",
                    "a RAM block of this VM " + blockNames(memory), streamOffset + RAMBLOCK_OFFSET);
        }
        RamBlock block = memory.block(name);
        long last = block.sizeBytes() - PAGE_SIZE;
        long[] offsets = new long[count];
        for (int i = 0; i < count; i++) {
            long off = src.get(BE64, OFFSETS_OFFSET + 8L * i);
            if (off < 0 || off > last || (off & (PAGE_SIZE - 1)) != 0) {
                throw new StreamFormatException("multifd.packet.offsets[" + i + "]", hex(off),
                        "a multiple of " + PAGE_SIZE + " in 0.." + hex(last) + " (block '" + name
                                + "' used_length " + hex(block.sizeBytes()) + ")",
                        streamOffset + OFFSETS_OFFSET + 8L * i);
            }
            offsets[i] = off;
        }
        return new Header(flags, (int) pagesAlloc, count, (int) nextSize, packetNum, block, offsets);
    }

    /** The ramblock field up to its first NUL (byte 255 is treated as NUL, as QEMU forces it). */
    static String blockName(MemorySegment src) {
        int len = 0;
        while (len < RAMBLOCK_BYTES - 1 && src.get(ValueLayout.JAVA_BYTE, RAMBLOCK_OFFSET + len) != 0) len++;
        byte[] b = src.asSlice(RAMBLOCK_OFFSET, len).toArray(ValueLayout.JAVA_BYTE);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static String blockNames(GuestMemory memory) {
        StringBuilder sb = new StringBuilder("(");
        for (RamBlock b : memory.blocks()) {
            if (sb.length() > 1) sb.append(", ");
            sb.append('\'').append(b.name()).append('\'');
        }
        return sb.append(')').toString();
    }
}
