package io.livemig.engine.stream;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.GatheringByteChannel;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link StreamWriter#guestPage} over a gathering channel queues pages as iovecs instead of copying them;
 * the bytes on the wire and {@link StreamWriter#position()} must be exactly those of the copying path.
 */
class StreamWriterGatherTest {
    /** A gathering channel that takes at most {@code maxPerCall} bytes per call, as a full socket does. */
    private static final class ShortWritingChannel implements GatheringByteChannel {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final int maxPerCall;
        int gatherCalls;
        int maxBuffersPerCall;

        ShortWritingChannel(int maxPerCall) {
            this.maxPerCall = maxPerCall;
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) {
            gatherCalls++;
            maxBuffersPerCall = Math.max(maxBuffersPerCall, length);
            long budget = maxPerCall;
            long n = 0;
            for (int i = offset; i < offset + length && budget > 0; i++) {
                int take = (int) Math.min(budget, srcs[i].remaining());
                byte[] b = new byte[take];
                srcs[i].get(b);
                out.write(b, 0, take);
                budget -= take;
                n += take;
            }
            return n;
        }

        @Override
        public long write(ByteBuffer[] srcs) {
            return write(srcs, 0, srcs.length);
        }

        @Override
        public int write(ByteBuffer src) {
            return (int) write(new ByteBuffer[] {src}, 0, 1);
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void gatheredPagesProduceTheSameBytesAndPositionsAsCopiedOnes() {
        try (Arena arena = Arena.ofConfined()) {
            int pages = 300; // several MAX_IOV batches
            MemorySegment ram = arena.allocate(pages * 4096L, 4096);
            SplittableRandom rnd = new SplittableRandom(7);
            for (long i = 0; i < ram.byteSize(); i++) ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());

            ShortWritingChannel gathering = new ShortWritingChannel(10_000);
            ByteArrayOutputStream plain = new ByteArrayOutputStream();
            StreamWriter g = new StreamWriter(gathering);
            StreamWriter c = new StreamWriter(Channels.newChannel(plain));
            for (int p = 0; p < pages; p++) {
                MemorySegment page = ram.asSlice(p * 4096L, 4096);
                for (StreamWriter w : new StreamWriter[] {g, c}) {
                    w.be64(p * 4096L | 0x28).u8(p & 0xFF);
                    if (p % 7 == 0) w.countedString("pc.ram");
                    w.guestPage(page);
                }
                assertEquals(c.position(), g.position(), "position after page " + p);
            }
            g.be64(0x10);
            c.be64(0x10);
            g.flush();
            c.flush();
            assertArrayEquals(plain.toByteArray(), gathering.out.toByteArray());
            assertTrue(gathering.maxBuffersPerCall > 2, "pages went out as iovecs, " + gathering.maxBuffersPerCall
                    + " buffers in the largest call");
            assertTrue(gathering.maxBuffersPerCall <= StreamWriter.MAX_IOV + 1,
                    gathering.maxBuffersPerCall + " buffers in one call, expected <= MAX_IOV + 1");
        }
    }
}
