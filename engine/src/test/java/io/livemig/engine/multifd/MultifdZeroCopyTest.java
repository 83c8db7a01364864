package io.livemig.engine.multifd;

import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import io.livemig.transport.zerocopy.MemoryLockCheck;
import io.livemig.transport.zerocopy.ZeroCopySender;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** multifd with zero-copy-send: MSG_ZEROCOPY sends from locked guest RAM, completions flushed at every sync. */
class MultifdZeroCopyTest {
    private static final long RAM_BYTES = 16L << 20;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void zeroCopyMultifdDeliversAndReportsMissedZeroCopy() throws Exception {
        try (GuestMemory src = GuestMemory.builder().anonymous("ram", RAM_BYTES).build();
             GuestMemory dst = GuestMemory.builder().anonymous("ram", RAM_BYTES).build()) {
            RamBlock block = src.block("ram");
            MultifdLoopbackTest.fill(block.segment(), 7);
            MultifdSender.Config cfg = MultifdSender.Config.of(2, MultifdCompression.NONE, 1,
                    MultifdLoopbackTest.UUID_BYTES).withZeroCopySend(true);
            try (MemoryLockCheck.Locked _ = MemoryLockCheck.lock(block.segment(), "RAM block 'ram'");
                 LoopbackPair p = new LoopbackPair(dst, cfg,
                         uri -> ZeroCopySender.connectTcp(new InetSocketAddress(uri.host(), uri.port())))) {
                CompletableFuture<Void> dest = CompletableFuture.runAsync(() -> {
                    try {
                        for (int pass = 0; pass < 2; pass++) p.destEos();
                        p.receiver.awaitEnd(LoopbackPair.WAIT);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                MemorySegment ram = block.segment();
                for (int pass = 0; pass < 2; pass++) {
                    for (long off = 0; off < RAM_BYTES; off += 4096) {
                        if (!io.livemig.memory.ZeroPages.isZero(ram, off, 4096)) p.sender.queuePage(block, off);
                    }
                    p.sourceEos(); // flushes zero-copy completions before the EOS: pages may change after this
                    ram.asSlice(0x5000, 4096).fill((byte) (0x40 + pass)); // the guest dirties a page
                }
                p.sender.finish();
                dest.get(30, TimeUnit.SECONDS);
                ram.asSlice(0x5000, 4096).fill((byte) 0x40); // what pass 2 sent
                assertEquals(-1, ram.mismatch(dst.block("ram").segment()));
                MultifdStats s = p.sender.stats();
                long sends = 0;
                for (MultifdSendChannel c : p.sender.channels()) {
                    ZeroCopySender z = (ZeroCopySender) c.channel();
                    assertEquals(z.zeroCopySends(), z.completedSends(), "all completions reaped");
                    sends += z.zeroCopySends();
                }
                System.out.println("zero-copy multifd: " + sends + " MSG_ZEROCOPY sends, copied completions "
                        + s.zeroCopyCopiedCompletions() + ", dirty-sync-missed-zero-copy " + s.dirtySyncMissedZeroCopy());
                assertTrue(sends > 0);
                // loopback always copies: every sync reports it
                if (s.zeroCopyCopiedCompletions() > 0) assertTrue(s.dirtySyncMissedZeroCopy() >= 1);
            }
        }
    }

    @Test
    void zeroCopyNeedsZeroCopyChannels() throws Exception {
        MultifdSender s = new MultifdSender(MultifdSender.Config.of(1, MultifdCompression.NONE, 1,
                MultifdLoopbackTest.UUID_BYTES).withZeroCopySend(true));
        try (var endpoint = io.livemig.transport.Transports.listen("tcp:127.0.0.1:0");
             var ch = io.livemig.transport.Transports.connect(endpoint.boundUri())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.addChannel(ch));
            assertTrue(e.getMessage().startsWith("zero-copy-send needs ZeroCopySender channels"), e.getMessage());
        }
    }
}
