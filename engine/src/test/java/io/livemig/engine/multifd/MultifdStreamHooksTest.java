package io.livemig.engine.multifd;

import io.livemig.engine.ram.RamRecord;
import io.livemig.engine.ram.RamRegion;
import io.livemig.engine.ram.RamSaver;
import io.livemig.engine.stream.DeviceRegistry;
import io.livemig.engine.stream.LoadOptions;
import io.livemig.engine.stream.LoadResult;
import io.livemig.engine.stream.MigrationStreams;
import io.livemig.engine.stream.SaveOptions;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The stream hooks of multifd, in process over loopback tcp: {@link MigrationStreams#saveAll} with a
 * {@link RamSaver.MultifdHook} on a {@link MultifdSender} and {@link MigrationStreams#loadAll} with the
 * receiver's {@code syncMain} at every RAM EOS. Non-zero pages travel only on the multifd channels, zero
 * pages as ZERO records on the main channel, one SYNC per channel per RAM EOS (setup, PART, END).
 */
@Timeout(60)
class MultifdStreamHooksTest {
    private static final long RAM_BYTES = 8L << 20;

    @Test
    void wholeStreamOverMainPlusFourZstdChannels() throws Exception {
        try (GuestMemory src = GuestMemory.builder().anonymous("ram", RAM_BYTES).build();
             GuestMemory dst = GuestMemory.builder().anonymous("ram", RAM_BYTES).build()) {
            RamBlock block = src.block("ram");
            long nonZero = scatter(block.segment());
            MultifdSender.Config cfg = MultifdSender.Config.of(4, MultifdCompression.ZSTD, 1, MultifdLoopbackTest.UUID_BYTES);
            try (LoopbackPair p = new LoopbackPair(dst, cfg, null)) {
                RamSaver.MultifdHook hook = new RamSaver.MultifdHook() {
                    @Override
                    public void queuePage(int blockIndex, RamRegion region, long offset) {
                        try {
                            p.sender.queuePage(src.blocks().get(blockIndex), offset);
                        } catch (MultifdException e) {
                            throw new UncheckedIOException(e);
                        }
                    }

                    @Override
                    public void beforeEos() {
                        try {
                            p.sender.syncMain();
                        } catch (MultifdException e) {
                            throw new UncheckedIOException(e);
                        }
                    }
                };
                CompletableFuture<Void> save = CompletableFuture.runAsync(() -> {
                    try {
                        MigrationStreams.saveAll(p.sourceMain.writable(), RamRegion.of(src), List.of(),
                                SaveOptions.defaults(), hook);
                        p.sender.finish();
                        p.sourceMain.shutdownOutput();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                LoadResult r = MigrationStreams.loadAll(p.destMain.readable(), RamRegion.of(dst), DeviceRegistry.empty(),
                        LoadOptions.defaults().withFreshRam(true), () -> {
                            try {
                                p.receiver.syncMain(LoopbackPair.WAIT);
                            } catch (MultifdException e) {
                                throw new UncheckedIOException(e);
                            }
                        });
                p.receiver.awaitEnd(LoopbackPair.WAIT);
                save.get(30, TimeUnit.SECONDS);

                assertEquals(-1L, block.segment().mismatch(dst.block("ram").segment()), "destination RAM equals source");
                assertEquals(0, r.ram().total(RamRecord.Kind.PAGE), "no PAGE record on the main channel");
                assertEquals(RAM_BYTES / 4096 - nonZero, r.ram().total(RamRecord.Kind.ZERO), "zero pages as ZERO records");
                MultifdStats sent = p.sender.stats();
                long pages = 0;
                for (MultifdChannelStats c : sent.channels()) {
                    assertEquals(3, c.syncs(), "one SYNC per RAM EOS: " + c);
                    pages += c.pages();
                }
                assertEquals(nonZero, pages);
                for (MultifdChannelStats c : p.receiver.stats().channels()) assertEquals(3, c.syncs(), c.toString());
            }
        }
    }

    /** Random bytes in every 3rd page of the first half; returns the number of non-zero pages. */
    private static long scatter(MemorySegment ram) {
        Random rnd = new Random(11);
        byte[] page = new byte[4096];
        long n = 0;
        for (long off = 0; off < ram.byteSize() / 2; off += 3 * 4096L) {
            rnd.nextBytes(page);
            page[0] = 1;
            MemorySegment.copy(MemorySegment.ofArray(page), 0, ram, off, 4096);
            n++;
        }
        return n;
    }
}
