package io.livemig.transport.zerocopy;

import io.livemig.sys.abi.ErrnoH;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ZeroCopySenderTest {
    private static final int BYTES = 16 << 20;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void zeroCopySendOverLoopbackCompletesAndReportsCopying() throws Exception {
        try (Arena arena = Arena.ofShared();
             ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.INET)) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
            MemorySegment ram = arena.allocate(BYTES, 4096);
            for (long i = 0; i < BYTES; i += 8) ram.set(ValueLayout.JAVA_LONG, i, i * 0x9E3779B97F4A7C15L);
            MemorySegment header = arena.allocate(64);
            header.fill((byte) 0x11);
            CompletableFuture<byte[]> reader = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel sc = server.accept()) {
                    ByteBuffer all = ByteBuffer.allocate(BYTES + 64 * 16);
                    while (all.hasRemaining() && sc.read(all) >= 0) {
                        // keep reading
                    }
                    return all.array();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (ZeroCopySender z = ZeroCopySender.connectTcp((InetSocketAddress) server.getLocalAddress());
                 MemoryLockCheck.Locked _ = MemoryLockCheck.lock(ram, "test RAM")) {
                long chunk = BYTES / 16;
                for (int i = 0; i < 16; i++) {
                    z.write(header);                                     // copied: header buffer is reused
                    z.writeZeroCopy(ram.asSlice(i * chunk, chunk / 2), ram.asSlice(i * chunk + chunk / 2, chunk / 2));
                }
                int copied = z.flushCompletions(Duration.ofSeconds(10));
                assertEquals(z.zeroCopySends(), z.completedSends(), "every zero-copy send completed");
                assertTrue(z.zeroCopySends() >= 16, "at least one sendmsg(MSG_ZEROCOPY) per write");
                System.out.println("zero-copy over loopback: " + z.zeroCopySends() + " sends, " + z.copiedCompletions()
                        + " reported SO_EE_CODE_ZEROCOPY_COPIED; flushCompletions() = " + copied);
                assertEquals(z.copiedCompletions() > 0 ? 1 : 0, copied);
                assertEquals(0, z.flushCompletions(Duration.ofSeconds(1)), "nothing new copied since the last flush");
                z.shutdownOutput();
                byte[] got = reader.get(30, TimeUnit.SECONDS);
                MemorySegment g = MemorySegment.ofArray(got);
                for (int i = 0; i < 16; i++) {
                    long base = i * (chunk + 64);
                    assertEquals(-1, g.asSlice(base, 64).mismatch(header), "header " + i);
                    assertEquals(-1, g.asSlice(base + 64, chunk).mismatch(ram.asSlice(i * chunk, chunk)), "chunk " + i);
                }
            }
        }
    }

    @Test
    void lockFailureNamesRlimitMemlockAndTheCurrentLimit() {
        String m = MemoryLockCheck.lockFailureMessage("RAM block 'ram'", 64L << 20, ErrnoH.ENOMEM);
        assertTrue(m.startsWith("zero-copy-send needs lockable guest RAM, but mlock of RAM block 'ram' (67108864 bytes)"
                + " failed: ENOMEM(12) Cannot allocate memory; raise RLIMIT_MEMLOCK (current limit: soft "), m);
        assertTrue(m.endsWith(" per /proc/self/limits), e.g. ulimit -l unlimited, or disable zero-copy-send"), m);
    }

    @Test
    void connectFailureSaysWhere() {
        IOException e = assertThrows(IOException.class,
                () -> ZeroCopySender.connectTcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 1)));
        assertEquals("Failed to connect to '127.0.0.1:1': ECONNREFUSED(111) Connection refused", e.getMessage());
    }
}
