package io.livemig.engine.multifd;

import io.livemig.engine.stream.StreamFormatException;
import io.livemig.memory.GuestMemory;
import io.livemig.transport.IncomingEndpoint;
import io.livemig.transport.MigrationChannel;
import io.livemig.transport.Transports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad peers on real connections: each fails the receiver promptly with the decoder's message. */
class MultifdReceiverRejectionTest {
    private static final byte[] UUID_BYTES = MultifdLoopbackTest.UUID_BYTES;

    /** Connects {@code n} raw channels to a receiver and writes {@code bytes[i]} on channel i. */
    private static MultifdException run(int channels, List<byte[]> writes, boolean closeAfter,
                                        java.util.function.Function<MultifdReceiver, MultifdException> wait)
            throws Exception {
        try (GuestMemory dst = GuestMemory.builder().anonymous("ram", 1 << 20).build();
             IncomingEndpoint ep = Transports.listen("tcp:127.0.0.1:0");
             MultifdReceiver r = new MultifdReceiver(dst, channels, MultifdCompression.NONE, UUID_BYTES);
             Arena arena = Arena.ofShared()) {
            List<MigrationChannel> mine = new ArrayList<>();
            try {
                for (byte[] w : writes) {
                    MigrationChannel c = Transports.connect(ep.boundUri());
                    mine.add(c);
                    r.addChannel(ep.accept());
                    MemorySegment s = arena.allocate(w.length);
                    MemorySegment.copy(MemorySegment.ofArray(w), 0, s, 0, w.length);
                    c.write(s);
                    if (closeAfter) c.shutdownOutput();
                }
                return wait.apply(r);
            } finally {
                for (MigrationChannel c : mine) c.close();
            }
        }
    }

    private static byte[] init(byte[] uuid, int id) {
        byte[] b = new byte[64];
        MultifdInitDescriptor.encode(MemorySegment.ofArray(b), uuid, id);
        return b;
    }

    private static MultifdException awaitChannels(MultifdReceiver r) {
        return assertThrows(MultifdException.class, () -> r.awaitChannels(Duration.ofSeconds(10)));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void foreignUuidIsRejected() throws Exception {
        MultifdException e = run(1, List.of(init(MultifdInitDescriptor.noUuid(), 0)), false,
                MultifdReceiverRejectionTest::awaitChannels);
        StreamFormatException cause = assertInstanceOf(StreamFormatException.class, e.getCause().getCause());
        assertEquals("multifd.init.uuid", cause.field());
        assertTrue(e.getMessage().contains("multifd.init.uuid=00000000-0000-0000-0000-000000000000, expected the "
                + "destination's uuid 12345678-9abc-def0-1122-334455667788 (at stream offset 8)"), e.getMessage());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void duplicateChannelIdIsRejected() throws Exception {
        MultifdException e = run(2, List.of(init(UUID_BYTES, 1), init(UUID_BYTES, 1)), false,
                MultifdReceiverRejectionTest::awaitChannels);
        assertTrue(e.getMessage().contains("multifd.init.id=1, expected an id not already used by multifd receive "
                + "channel 1"), e.getMessage());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void packetForAnOffsetOutsideTheBlockIsRejectedWithItsStreamOffset() throws Exception {
        byte[] first = init(UUID_BYTES, 0);
        byte[] header = new byte[MultifdPacketDescriptor.BYTES];
        MultifdPacketDescriptor.encode(MemorySegment.ofArray(header), 0, 1, 4096, 0, "ram", new long[] {1 << 20});
        byte[] both = new byte[64 + header.length];
        System.arraycopy(first, 0, both, 0, 64);
        System.arraycopy(header, 0, both, 64, header.length);
        MultifdException e = run(1, List.of(both), false,
                r -> assertThrows(MultifdException.class, () -> r.syncMain(Duration.ofSeconds(10))));
        assertTrue(e.getMessage().endsWith("multifd.packet.offsets[0]=0x100000, expected a multiple of 4096 in "
                + "0..0xff000 (block 'ram' used_length 0x100000) (at stream offset 384)"), e.getMessage());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void channelClosedBeforeItsSyncFailsTheSyncPromptly() throws Exception {
        long t0 = System.nanoTime();
        MultifdException e = run(1, List.of(init(UUID_BYTES, 0)), true,
                r -> assertThrows(MultifdException.class, () -> r.syncMain(Duration.ofSeconds(20))));
        assertTrue((System.nanoTime() - t0) < 5_000_000_000L, "failed within seconds, not at the timeout");
        assertTrue(e.getMessage().matches("multifd: multifd receive channel 0 \\(.*\\) ended \\(peer closed it\\) "
                + "while waiting for a SYNC packet on every multifd channel"), e.getMessage());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void truncatedPacketIsReported() throws Exception {
        byte[] first = init(UUID_BYTES, 0);
        byte[] both = new byte[64 + 100];
        System.arraycopy(first, 0, both, 0, 64);
        MultifdPacketDescriptor.encode(MemorySegment.ofArray(new byte[MultifdPacketDescriptor.BYTES]), 0, 0, 0, 0, null, null);
        MultifdException e = run(1, List.of(both), true,
                r -> assertThrows(MultifdException.class, () -> r.syncMain(Duration.ofSeconds(10))));
        assertTrue(e.getMessage().endsWith("multifd.packet.header=end of stream, expected 1244 more bytes of a packet "
                + "header (at stream offset 164)"), e.getMessage());
    }
}
