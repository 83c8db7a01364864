package io.livemig.transport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One contract, every transport: what the source writes (gathering, from off-heap) the destination reads. */
class ChannelRoundTripTest {
    private static final int PAGES = 256;
    private static final int PAGE = 4096;

    @TempDir
    Path dir;

    @Test
    @Timeout(20)
    void tcpRoundTrip() throws Exception {
        try (IncomingEndpoint ep = Transports.listen("tcp:127.0.0.1:0")) {
            int port = ((MigrationUri.Tcp) ep.boundUri()).port();
            assertTrue(port > 0, "bound port reported: " + ep.boundUri().text());
            roundTrip(ep, ep.boundUri().text());
        }
    }

    @Test
    @Timeout(20)
    void unixRoundTrip() throws Exception {
        Path sock = dir.resolve("m.sock");
        Files.writeString(sock, "stale"); // a leftover file is replaced, as QEMU does
        try (IncomingEndpoint ep = Transports.listen("unix:" + sock)) {
            roundTrip(ep, "unix:" + sock);
        }
        assertTrue(Files.notExists(sock), "socket file removed on close");
    }

    @Test
    @Timeout(20)
    void fileRoundTripWithOffset() throws Exception {
        Path f = dir.resolve("stream.bin");
        byte[] expected;
        try (Arena arena = Arena.ofConfined();
             MigrationChannel out = Transports.connect("file:" + f + ",offset=4096")) {
            MigrationSegments s = MigrationSegments.of(arena);
            out.write(s.header, s.pages);
            expected = s.concat();
        }
        assertEquals(4096 + expected.length, Files.size(f));
        try (IncomingEndpoint ep = Transports.listen("file:" + f + ",offset=4096");
             MigrationChannel in = ep.accept();
             Arena arena = Arena.ofConfined()) {
            MemorySegment got = arena.allocate(expected.length);
            in.readFully(got);
            assertArrayEquals(expected, got.toArray(ValueLayout.JAVA_BYTE));
            assertEquals(-1, in.read(arena.allocate(1)));
        }
    }

    @Test
    @Timeout(20)
    void execRoundTripThroughCat() throws Exception {
        Path f = dir.resolve("exec.bin");
        byte[] expected;
        try (Arena arena = Arena.ofConfined();
             MigrationChannel out = Transports.connect("exec:cat > " + f)) {
            MigrationSegments s = MigrationSegments.of(arena);
            out.write(s.header, s.pages);
            expected = s.concat();
        }
        assertArrayEquals(expected, Files.readAllBytes(f));
        try (IncomingEndpoint ep = Transports.listen("exec:cat " + f);
             MigrationChannel in = ep.accept();
             Arena arena = Arena.ofConfined()) {
            MemorySegment got = arena.allocate(expected.length);
            in.readFully(got);
            assertArrayEquals(expected, got.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    @Timeout(20)
    void fdRoundTripOverAPipe() throws Exception {
        int[] pipe = io.livemig.sys.LibC.pipe2(io.livemig.sys.abi.MmanH.O_CLOEXEC);
        try (IncomingEndpoint ep = Transports.listen("fd:" + pipe[0])) {
            roundTrip(ep, "fd:" + pipe[1]);
        }
    }

    @Test
    @Timeout(20)
    void execOutgoingFailingCommandIsAnError() throws Exception {
        IOException e = assertThrows(IOException.class, () -> {
            try (Arena arena = Arena.ofConfined();
                 MigrationChannel out = Transports.connect("exec:exit 3")) {
                MemorySegment big = arena.allocate(4 << 20);
                out.write(big);
            }
        });
        assertTrue(e.getMessage().contains("exited with status 3"), e.getMessage());
    }

    @Test
    @Timeout(20)
    void execIncomingFailingCommandIsAnError() throws Exception {
        try (IncomingEndpoint ep = Transports.listen("exec:echo -n abc; exit 5");
             Arena arena = Arena.ofConfined()) {
            MigrationChannel in = ep.accept();
            IOException e = assertThrows(IOException.class, () -> in.readFully(arena.allocate(10)));
            assertTrue(e.getMessage().contains("exited with status 5"), e.getMessage());
            in.shutdown();
            in.close();
        }
    }

    @Test
    @Timeout(20)
    void shutdownUnblocksAReaderInAnotherThread() throws Exception {
        try (IncomingEndpoint ep = Transports.listen("tcp:127.0.0.1:0");
             MigrationChannel out = Transports.connect(ep.boundUri());
             MigrationChannel in = ep.accept()) {
            CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
                try (Arena arena = Arena.ofConfined()) {
                    return in.read(arena.allocate(16));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(200);
            assertTrue(!reader.isDone(), "reader should be blocked");
            in.shutdown();
            ExecutionException e = assertThrows(ExecutionException.class, () -> reader.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("shut down"), e.getCause().getMessage());
            assertTrue(out.bytesWritten() == 0);
        }
    }

    @Test
    @Timeout(20)
    void connectRefusedSaysWhere() throws Exception {
        int port;
        try (IncomingEndpoint ep = Transports.listen("tcp:127.0.0.1:0")) {
            port = ((MigrationUri.Tcp) ep.boundUri()).port();
        }
        IOException e = assertThrows(IOException.class, () -> Transports.connect("tcp:127.0.0.1:" + port));
        assertTrue(e.getMessage().startsWith("Failed to connect to '127.0.0.1:" + port + "': "), e.getMessage());
    }

    @Test
    @Timeout(20)
    void bufferedWriterGathersHeaderAndPage() throws Exception {
        try (IncomingEndpoint ep = Transports.listen("tcp:127.0.0.1:0");
             Arena arena = Arena.ofShared()) {
            MemorySegment page = arena.allocate(PAGE, PAGE);
            for (int i = 0; i < PAGE; i++) page.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7));
            CompletableFuture<byte[]> reader = CompletableFuture.supplyAsync(() -> {
                try (MigrationChannel in = ep.accept(); Arena a = Arena.ofConfined()) {
                    MemorySegment got = a.allocate(8 + 1 + PAGE + 4);
                    in.readFully(got);
                    return got.toArray(ValueLayout.JAVA_BYTE);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            try (MigrationChannel out = Transports.connect(ep.boundUri());
                 BufferedStreamWriter w = new BufferedStreamWriter(out)) {
                w.putBe64(0x1122334455667788L).put8(0x7e);
                w.writeDirect(page);
                w.putBe32(0xCAFEBABE);
                w.flush();
                assertEquals(8 + 1 + PAGE + 4, w.position());
            }
            byte[] got = reader.get(10, TimeUnit.SECONDS);
            assertEquals(0x11, got[0]);
            assertEquals(0x7e, got[8]);
            assertEquals((byte) 7, got[9 + 1]);
            assertEquals((byte) 0xBE, got[got.length - 1]);
        }
    }

    private static void roundTrip(IncomingEndpoint ep, String uri) throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MigrationSegments s = MigrationSegments.of(arena);
            byte[] expected = s.concat();
            CompletableFuture<byte[]> reader = CompletableFuture.supplyAsync(() -> {
                try (MigrationChannel in = ep.accept(); Arena a = Arena.ofConfined()) {
                    MemorySegment got = a.allocate(expected.length);
                    in.readFully(got);
                    assertEquals(-1, in.read(a.allocate(1)), "end of stream after the peer closed");
                    assertEquals(expected.length, in.bytesRead());
                    return got.toArray(ValueLayout.JAVA_BYTE);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            try (MigrationChannel out = Transports.connect(uri)) {
                // header + page pairs in single gathering writes, straight from off-heap memory
                for (int p = 0; p < PAGES; p++) {
                    out.write(s.header.asSlice(p * 8L, 8), s.pages.asSlice((long) p * PAGE, PAGE));
                }
                assertEquals(expected.length, out.bytesWritten());
            }
            byte[] got = reader.get(15, TimeUnit.SECONDS);
            // the reader saw header/page interleaved; rebuild the same order for comparison
            assertArrayEquals(s.interleaved(), got);
        }
    }

    /** 8-byte headers and 4 KiB pages, off-heap, with a pattern that catches reordering. */
    private record MigrationSegments(MemorySegment header, MemorySegment pages) {
        static MigrationSegments of(Arena arena) {
            MemorySegment header = arena.allocate(8L * PAGES);
            MemorySegment pages = arena.allocate((long) PAGES * PAGE, PAGE);
            for (int p = 0; p < PAGES; p++) {
                header.set(ValueLayout.JAVA_LONG, p * 8L, (long) p << 12 | 0x8);
                for (int i = 0; i < PAGE; i += 8) pages.set(ValueLayout.JAVA_LONG, (long) p * PAGE + i, p * 31L + i);
            }
            return new MigrationSegments(header, pages);
        }

        byte[] concat() {
            byte[] h = header.toArray(ValueLayout.JAVA_BYTE);
            byte[] d = pages.toArray(ValueLayout.JAVA_BYTE);
            byte[] all = new byte[h.length + d.length];
            System.arraycopy(h, 0, all, 0, h.length);
            System.arraycopy(d, 0, all, h.length, d.length);
            return all;
        }

        byte[] interleaved() {
            byte[] all = new byte[(8 + PAGE) * PAGES];
            for (int p = 0; p < PAGES; p++) {
                MemorySegment.copy(header, ValueLayout.JAVA_BYTE, p * 8L, all, p * (8 + PAGE), 8);
                MemorySegment.copy(pages, ValueLayout.JAVA_BYTE, (long) p * PAGE, all, p * (8 + PAGE) + 8, PAGE);
            }
            return all;
        }
    }
}
