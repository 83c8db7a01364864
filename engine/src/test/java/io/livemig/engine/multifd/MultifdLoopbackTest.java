package io.livemig.engine.multifd;

import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import io.livemig.memory.ZeroPages;
import io.livemig.sys.zstd.ZstdNative;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** livemig multifd sender -> livemig multifd receiver over real loopback TCP connections. */
class MultifdLoopbackTest {
    static final long RAM_BYTES = 64L << 20;
    static final byte[] UUID_BYTES =
            MultifdInitDescriptor.uuidBytes(UUID.fromString("12345678-9abc-def0-1122-334455667788"));

    static Stream<Arguments> matrix() {
        List<Arguments> l = new ArrayList<>();
        for (MultifdCompression c : MultifdCompression.values()) {
            for (int n : new int[] {1, 2, 4, 16}) l.add(Arguments.of(c, n));
        }
        return l.stream();
    }

    /** Random pages, text-like compressible pages and zero pages (zero pages are not sent: 7.2 puts them on the main channel). */
    static void fill(MemorySegment ram, long seed) {
        Random rnd = new Random(seed);
        byte[] page = new byte[4096];
        for (long off = 0; off < ram.byteSize(); off += 4096) {
            int kind = rnd.nextInt(4);
            if (kind == 0) continue; // zero page
            if (kind == 1) {
                rnd.nextBytes(page);
            } else {
                String tag = "page@" + Long.toHexString(off) + " ";
                for (int j = 0; j < 4096; j++) page[j] = (byte) tag.charAt(j % tag.length());
            }
            MemorySegment.copy(MemorySegment.ofArray(page), 0, ram, off, 4096);
        }
    }

    @ParameterizedTest(name = "{0} x{1}")
    @MethodSource("matrix")
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void moves64MiBIntactOverRealTcp(MultifdCompression compression, int channels) throws Exception {
        if (compression == MultifdCompression.ZSTD) {
            assumeTrue(ZstdNative.isAvailable(), "libzstd.so.1 missing: " + ZstdNative.unavailableReason());
        }
        try (GuestMemory src = GuestMemory.builder().anonymous("ram", RAM_BYTES).build();
             GuestMemory dst = GuestMemory.builder().anonymous("ram", RAM_BYTES).build()) {
            RamBlock block = src.block("ram");
            fill(block.segment(), 42 + channels);
            MultifdSender.Config cfg = MultifdSender.Config.of(channels, compression, 1, UUID_BYTES);
            try (LoopbackPair p = new LoopbackPair(dst, cfg, null)) {
                CompletableFuture<Void> dest = CompletableFuture.runAsync(() -> {
                    try {
                        p.destEos();
                        p.receiver.awaitEnd(LoopbackPair.WAIT);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
                long cpu0 = os.getProcessCpuTime();
                long t0 = System.nanoTime();
                long sent = 0;
                MemorySegment ram = block.segment();
                for (long off = 0; off < RAM_BYTES; off += 4096) {
                    if (ZeroPages.isZero(ram, off, 4096)) continue;
                    p.sender.queuePage(block, off);
                    sent++;
                }
                p.sourceEos();
                p.sender.finish();
                dest.get(60, TimeUnit.SECONDS);
                double secs = (System.nanoTime() - t0) / 1e9;
                double cpuSecs = (os.getProcessCpuTime() - cpu0) / 1e9;
                assertEquals(-1, ram.mismatch(dst.block("ram").segment()), "destination RAM equals source RAM");
                MultifdStats s = p.sender.stats();
                MultifdStats r = p.receiver.stats();
                assertEquals(channels, s.channels().size());
                assertEquals(sent, s.channels().stream().mapToLong(MultifdChannelStats::pages).sum());
                assertEquals(sent, r.channels().stream().mapToLong(MultifdChannelStats::pages).sum());
                assertEquals(s.multifdBytes(), r.multifdBytes(), "multifd-bytes agree on both sides");
                assertEquals(s.multifdWireBytes(), r.multifdWireBytes(), "wire bytes agree on both sides");
                assertEquals(((sent + 127) / 128 + channels) * 1344 + sent * 4096, s.multifdBytes(), "QEMU 7.2 accounting");
                for (MultifdChannelStats c : s.channels()) assertEquals(1, c.syncs(), "one SYNC per channel per EOS");
                System.out.printf("multifd %s x%d: %d pages (%d MiB of page data) in %.3f s = %.0f MiB/s of pages, "
                                + "process CPU %.3f s (both sides: %.0f MiB of pages per CPU-second), load average %.1f, "
                                + "multifd-bytes %d, on the wire %d%n", compression.qapiName(), channels, sent,
                        sent * 4096 >> 20, secs, sent * 4096 / secs / (1 << 20), cpuSecs,
                        sent * 4096 / cpuSecs / (1 << 20), os.getSystemLoadAverage(), s.multifdBytes(),
                        s.multifdWireBytes());
            }
        }
    }

    /**
     * Pass n's copy of a page must never land after pass n+1's: page X (value 1) goes on channel 0 in pass 1,
     * channel 0's receiver is made slow, then X (value 2) goes on channel 1 in pass 2. Without the per-EOS
     * sync, channel 1 would write 2 first and channel 0 would overwrite it with 1.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void pageOfPassNNeverOverwritesPassNPlus1UnderReordering() throws Exception {
        try (GuestMemory src = GuestMemory.builder().anonymous("ram", 4L << 20).build();
             GuestMemory dst = GuestMemory.builder().anonymous("ram", 4L << 20).build()) {
            RamBlock block = src.block("ram");
            MemorySegment ram = block.segment();
            long x = 0x3000;
            MultifdSender.Config cfg = MultifdSender.Config.of(2, MultifdCompression.NONE, 1, UUID_BYTES);
            try (LoopbackPair p = new LoopbackPair(dst, cfg, null)) {
                List<String> applied = java.util.Collections.synchronizedList(new ArrayList<>());
                p.receiver.packetHook = id -> {
                    applied.add("ch" + id);
                    if (id == 0) sleep(300); // channel 0 lags far behind channel 1
                };
                CompletableFuture<Void> dest = CompletableFuture.runAsync(() -> {
                    try {
                        for (int pass = 0; pass < 2; pass++) p.destEos();
                        p.receiver.awaitEnd(LoopbackPair.WAIT);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                ram.asSlice(x, 4096).fill((byte) 1);
                p.sender.queuePage(block, x);          // pass 1: a partial batch -> channel 0
                p.sourceEos();
                ram.asSlice(x, 4096).fill((byte) 2);
                p.sender.queuePage(block, x);          // pass 2: the next channel -> channel 1
                p.sourceEos();
                p.sender.finish();
                dest.get(30, TimeUnit.SECONDS);
                MultifdStats s = p.sender.stats();
                assertEquals(1, s.channels().get(0).pages(), "pass 1 on channel 0");
                assertEquals(1, s.channels().get(1).pages(), "pass 2 on channel 1");
                MemorySegment page = dst.block("ram").segment().asSlice(x, 4096);
                for (long i = 0; i < 4096; i++) assertEquals(2, page.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
                assertEquals(2, s.channels().get(0).syncs());
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void closedChannelMidTransferFailsBothSidesWithinSeconds() throws Exception {
        try (GuestMemory src = GuestMemory.builder().anonymous("ram", RAM_BYTES).build();
             GuestMemory dst = GuestMemory.builder().anonymous("ram", RAM_BYTES).build()) {
            RamBlock block = src.block("ram");
            block.segment().fill((byte) 0x5A);
            MultifdSender.Config cfg = MultifdSender.Config.of(2, MultifdCompression.NONE, 1, UUID_BYTES)
                    .withStallTimeout(Duration.ofSeconds(20));
            try (LoopbackPair p = new LoopbackPair(dst, cfg, null)) {
                java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger();
                p.receiver.packetHook = id -> {
                    if (id == 1 && seen.incrementAndGet() == 10) {
                        // The connection of channel 1 goes away mid-transfer.
                        p.receiver.channelsForTest().stream().filter(c -> c.id() == 1).findFirst()
                                .orElseThrow().channel().shutdown();
                    }
                    sleep(1);
                };
                p.receiver.setFailureListener(e -> p.destMain.shutdown()); // as the loader would
                CompletableFuture<MultifdException> dest = CompletableFuture.supplyAsync(() -> {
                    try {
                        p.destEos();
                        return null;
                    } catch (MultifdException e) {
                        return e;
                    } catch (IOException e) {
                        return p.receiver.failure(); // the main channel was shut down by the listener
                    }
                });
                long t0 = System.nanoTime();
                MultifdException srcErr = assertThrows(MultifdException.class, () -> {
                    for (int pass = 0; pass < 10; pass++) {
                        for (long off = 0; off < RAM_BYTES; off += 4096) p.sender.queuePage(block, off);
                        p.sourceEos();
                    }
                });
                double srcSecs = (System.nanoTime() - t0) / 1e9;
                MultifdException dstErr = dest.get(20, TimeUnit.SECONDS);
                double dstSecs = (System.nanoTime() - t0) / 1e9;
                assertNotNull(dstErr, "the destination fails too");
                System.out.println("source failed after " + srcSecs + " s: " + srcErr.getMessage());
                System.out.println("destination failed after " + dstSecs + " s: " + dstErr.getMessage());
                assertTrue(srcSecs < 10, "source failed within seconds");
                assertTrue(srcErr.getMessage().startsWith("multifd send channel "), srcErr.getMessage());
                assertTrue(dstErr.getMessage().contains("multifd receive channel 1"), dstErr.getMessage());
            }
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
