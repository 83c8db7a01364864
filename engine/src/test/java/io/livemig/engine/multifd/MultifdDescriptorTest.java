package io.livemig.engine.multifd;

import io.livemig.engine.stream.StreamFormatException;
import io.livemig.memory.GuestMemory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.UUID;

import static io.livemig.engine.multifd.MultifdPacketDescriptor.BE32;
import static io.livemig.engine.multifd.MultifdPacketDescriptor.BE64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MultifdDescriptorTest {
    private static final byte[] UUID_BYTES =
            MultifdInitDescriptor.uuidBytes(UUID.fromString("12345678-9abc-def0-1122-334455667788"));
    private static GuestMemory memory;
    private final Arena arena = Arena.ofAuto();

    @BeforeAll
    static void map() {
        memory = GuestMemory.builder().anonymous("ram", 1 << 20).anonymous("vga.vram", 64 << 10).build();
    }

    @AfterAll
    static void unmap() {
        memory.close();
    }

    // ---- MultiFDInit_t ------------------------------------------------------------------------------

    @Test
    void initMatchesTheQemuCaptureByteForByte() {
        MemorySegment s = arena.allocate(64);
        MultifdInitDescriptor.encode(s, UUID_BYTES, 0);
        // spec 9.3: channel 0 of the zlib run
        assertEquals("11223344000000011234567" + "89abcdef0" + "1122334455667788" + "00".repeat(8) + "00".repeat(32),
                HexFormat.of().formatHex(s.toArray(ValueLayout.JAVA_BYTE)));
        MultifdInitDescriptor.Init in = MultifdInitDescriptor.decode(s, 0, UUID_BYTES, 2);
        assertEquals(0, in.channelId());
        assertArrayEquals(UUID_BYTES, in.uuid());
    }

    @Test
    void initRejectsBadMagic() {
        MemorySegment s = init(3);
        s.set(BE32, 0, 0x11223345);
        assertMessage("multifd.init.magic=0x11223345, expected 0x11223344 (at stream offset 0)",
                () -> MultifdInitDescriptor.decode(s, 0, UUID_BYTES, 4));
    }

    @Test
    void initRejectsBadVersion() {
        MemorySegment s = init(3);
        s.set(BE32, 4, 2);
        assertMessage("multifd.init.version=2, expected 1 (at stream offset 4)",
                () -> MultifdInitDescriptor.decode(s, 0, UUID_BYTES, 4));
    }

    @Test
    void initRejectsForeignUuid() {
        MemorySegment s = init(1);
        assertMessage("multifd.init.uuid=12345678-9abc-def0-1122-334455667788, expected the destination's uuid "
                        + "00000000-0000-0000-0000-000000000000 (at stream offset 8)",
                () -> MultifdInitDescriptor.decode(s, 0, MultifdInitDescriptor.noUuid(), 4));
    }

    @Test
    void initRejectsIdAtOrAboveChannelCount() {
        MemorySegment s = init(2);
        assertMessage("multifd.init.id=2, expected 0..1 (multifd-channels=2) (at stream offset 24)",
                () -> MultifdInitDescriptor.decode(s, 0, UUID_BYTES, 2));
        assertEquals(2, MultifdInitDescriptor.decode(s, 0, UUID_BYTES, 3).channelId());
    }

    // ---- MultiFDPacket_t ----------------------------------------------------------------------------

    @Test
    void packetRoundTripAndLayout() {
        long[] offsets = {0x1000, 0x2000, 0xFF000};
        MemorySegment s = packet(MultifdCompression.NONE.flagBits(), 3, 3 * 4096, 7, "ram", offsets);
        assertEquals(1344, MultifdPacketDescriptor.BYTES);
        assertEquals(0x11223344, s.get(BE32, 0));
        assertEquals(128, s.get(BE32, 12));
        assertEquals('r', s.get(ValueLayout.JAVA_BYTE, 64));
        assertEquals(0x2000, s.get(BE64, 328));
        MultifdPacketDescriptor.Header h = MultifdPacketDescriptor.decode(s, 100, memory, MultifdCompression.NONE);
        assertEquals(3, h.normalPages());
        assertEquals(7, h.packetNum());
        assertEquals("ram", h.block().name());
        assertArrayEquals(offsets, h.offsets());
        assertTrue(!h.sync());
    }

    @Test
    void staleFieldsOfAPureSyncPacketAreIgnored() {
        // spec 3.3: SYNC after a 16-page zlib packet: stale ramblock, next_packet_size, offsets; comp bits 0.
        MemorySegment s = packet(0, 16, 1191, 3, "nonexistent", new long[16]);
        s.set(BE32, 8, MultifdPacketDescriptor.FLAG_SYNC);
        s.set(BE32, 16, 0);
        s.set(BE64, 320, 0x7FFF_FFFF_F000L);
        MultifdPacketDescriptor.Header h = MultifdPacketDescriptor.decode(s, 0, memory, MultifdCompression.ZLIB);
        assertTrue(h.sync());
        assertEquals(0, h.normalPages());
        assertNull(h.block());
    }

    @Test
    void packetRejectsBadMagicAndVersion() {
        MemorySegment s = packet(0, 1, 4096, 0, "ram", new long[] {0});
        s.set(BE32, 0, 0);
        assertMessage("multifd.packet.magic=0x0, expected 0x11223344 (at stream offset 64)",
                () -> MultifdPacketDescriptor.decode(s, 64, memory, MultifdCompression.NONE));
        MemorySegment v = packet(0, 1, 4096, 0, "ram", new long[] {0});
        v.set(BE32, 4, -1);
        assertMessage("multifd.packet.version=4294967295, expected 1 (at stream offset 68)",
                () -> MultifdPacketDescriptor.decode(v, 64, memory, MultifdCompression.NONE));
    }

    @Test
    void packetRejectsUnknownFlags() {
        MemorySegment s = packet(0x10, 1, 4096, 0, "ram", new long[] {0});
        assertMessage("multifd.packet.flags=0x10, expected SYNC (0x1) plus one of none (0x0), zlib (0x2), zstd (0x4)"
                + " (at stream offset 8)", () -> MultifdPacketDescriptor.decode(s, 0, memory, MultifdCompression.NONE));
        MemorySegment both = packet(0x6, 1, 100, 0, "ram", new long[] {0});
        assertMessage("multifd.packet.flags=0x6, expected SYNC (0x1) plus one of none (0x0), zlib (0x2), zstd (0x4)"
                + " (at stream offset 8)", () -> MultifdPacketDescriptor.decode(both, 0, memory, MultifdCompression.ZLIB));
    }

    @Test
    void packetRejectsCompressionOtherThanNegotiated() {
        MemorySegment s = packet(MultifdCompression.ZSTD.flagBits(), 1, 100, 0, "ram", new long[] {0});
        assertMessage("multifd.packet.flags=0x4, expected compression bits 0x2 (multifd-compression=zlib)"
                + " (at stream offset 8)", () -> MultifdPacketDescriptor.decode(s, 0, memory, MultifdCompression.ZLIB));
    }

    @Test
    void packetRejectsPageCountsBeyondCapacity() {
        MemorySegment s = packet(0, 1, 4096, 0, "ram", new long[] {0});
        s.set(BE32, 12, 129);
        assertMessage("multifd.packet.pages_alloc=129, expected at most 128 (at stream offset 12)",
                () -> MultifdPacketDescriptor.decode(s, 0, memory, MultifdCompression.NONE));
        MemorySegment n = packet(0, 1, 4096, 0, "ram", new long[] {0});
        n.set(BE32, 12, 16);
        n.set(BE32, 16, 17);
        assertMessage("multifd.packet.normal_pages=17, expected at most pages_alloc=16 (at stream offset 16)",
                () -> MultifdPacketDescriptor.decode(n, 0, memory, MultifdCompression.NONE));
    }

    @Test
    void packetRejectsWrongPayloadSize() {
        MemorySegment s = packet(0, 2, 4096, 0, "ram", new long[] {0, 4096});
        assertMessage("multifd.packet.next_packet_size=4096, expected 8192 (normal_pages=2 x 4096) (at stream offset 20)",
                () -> MultifdPacketDescriptor.decode(s, 0, memory, MultifdCompression.NONE));
        MemorySegment z = packet(MultifdCompression.ZLIB.flagBits(), 2, 0, 0, "ram", new long[] {0, 4096});
        assertMessage("multifd.packet.next_packet_size=0, expected 1..589824 bytes of zlib data (at stream offset 20)",
                () -> MultifdPacketDescriptor.decode(z, 0, memory, MultifdCompression.ZLIB));
    }

    @Test
    void packetRejectsUnknownBlock() {
        MemorySegment s = packet(0, 1, 4096, 0, "pc.ram", new long[] {0});
        assertMessage("multifd.packet.ramblock='pc.ram', expected a RAM block of this VM ('ram', 'vga.vram')"
                + " (at stream offset 64)", () -> MultifdPacketDescriptor.decode(s, 0, memory, MultifdCompression.NONE));
    }

    @Test
    void packetRejectsOffsetsOutsideOrInsideAPage() {
        MemorySegment s = packet(0, 2, 8192, 0, "vga.vram", new long[] {0, 0x10000});
        assertMessage("multifd.packet.offsets[1]=0x10000, expected a multiple of 4096 in 0..0xf000 (block 'vga.vram'"
                        + " used_length 0x10000) (at stream offset 328)",
                () -> MultifdPacketDescriptor.decode(s, 0, memory, MultifdCompression.NONE));
        MemorySegment u = packet(0, 1, 4096, 0, "ram", new long[] {0x800});
        assertMessage("multifd.packet.offsets[0]=0x800, expected a multiple of 4096 in 0..0xff000 (block 'ram'"
                        + " used_length 0x100000) (at stream offset 320)",
                () -> MultifdPacketDescriptor.decode(u, 0, memory, MultifdCompression.NONE));
        MemorySegment neg = packet(0, 1, 4096, 0, "ram", new long[] {-4096});
        assertThrows(StreamFormatException.class, () -> MultifdPacketDescriptor.decode(neg, 0, memory, MultifdCompression.NONE));
    }

    @Test
    void ramblockByte255IsTreatedAsNul() {
        MemorySegment s = packet(0, 1, 4096, 0, "ram", new long[] {0});
        s.asSlice(64, 256).fill((byte) 'a');
        StreamFormatException e = assertThrows(StreamFormatException.class,
                () -> MultifdPacketDescriptor.decode(s, 0, memory, MultifdCompression.NONE));
        assertEquals("'" + "a".repeat(255) + "'", e.value());
    }

    @Test
    void configRejectsZeroCopyWithCompressionAsQemuDoes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MultifdSender.Config.of(2, MultifdCompression.ZLIB, 1, UUID_BYTES).withZeroCopySend(true));
        assertEquals("Zero copy only available for non-compressed non-TLS multifd migration", e.getMessage());
        assertEquals("multifd-channels=0, expected 1..255", assertThrows(IllegalArgumentException.class,
                () -> MultifdSender.Config.of(0, MultifdCompression.NONE, 1, UUID_BYTES)).getMessage());
        assertEquals("multifd-zstd-level=21, expected 0..20", assertThrows(IllegalArgumentException.class,
                () -> MultifdSender.Config.of(2, MultifdCompression.ZSTD, 21, UUID_BYTES)).getMessage());
    }

    private MemorySegment init(int id) {
        MemorySegment s = arena.allocate(64);
        MultifdInitDescriptor.encode(s, UUID_BYTES, id);
        return s;
    }

    private MemorySegment packet(int flags, int count, int size, long num, String block, long[] offsets) {
        MemorySegment s = arena.allocate(MultifdPacketDescriptor.BYTES);
        MultifdPacketDescriptor.encode(s, flags, count, size, num, block, offsets);
        return s;
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        StreamFormatException e = assertThrows(StreamFormatException.class, call);
        assertEquals(expected, e.getMessage());
    }
}
