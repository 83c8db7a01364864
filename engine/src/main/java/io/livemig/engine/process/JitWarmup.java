package io.livemig.engine.process;

import io.livemig.engine.migration.MigrationParameters;
import io.livemig.memory.GuestMemory;
import io.livemig.transport.IncomingEndpoint;
import io.livemig.transport.MigrationChannel;
import io.livemig.transport.MigrationUri;
import io.livemig.transport.Transports;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Runs a few small migrations inside the process, over loopback tcp through the same codec, channels
 * and loader as a real one, so the JIT has compiled the per-page paths before the first real migration.
 *
 * <p>Why: a migration is one long loop over pages that a fresh JVM starts out interpreting, and on these
 * 2-core machines the C1 and C2 compiler threads then compete with the migration threads. Measured here
 * (256 MiB of random RAM, paused source, loopback tcp, a destination started 1-2 s earlier): 560 ms
 * migrate-to-done with both JVMs cold, JIT compiler threads taking ~45 % of the CPU samples in that
 * window; with the source warmed by earlier migrations and the destination still cold, 360 ms, the
 * destination then burning 450 ms of CPU; with this warm-up in both, 250-280 ms. It runs at start-up, before
 * the QMP monitor answers, where QEMU's own start-up work (prealloc) sits too, and takes 1.2-1.7 s there,
 * mostly compilation: 8 plain rounds gave the same times as 16; multifd needs its 12 (6 were ~12 % slower).
 *
 * <p>Nothing of the VM is touched: the warm-up has its own two small RAM blocks and channel, closed at the
 * end. A failure is reported and ignored (the process only misses the speed-up).
 */
final class JitWarmup {
    static final int RAM_MIB = 8;
    /** Page records for C2 to compile the per-page methods (thresholds are in the ten thousands). */
    static final int ROUNDS = 8;
    /** Then the same with multifd (2 channels, no compression): its sender, receiver and packet codec. */
    static final int MULTIFD_ROUNDS = 12;

    private JitWarmup() {
    }

    /** Runs the warm-up; returns how long it took in milliseconds. */
    static long run(StreamCodec codec) throws IOException {
        long t0 = System.nanoTime();
        long bytes = (long) RAM_MIB << 20;
        try (GuestMemory src = GuestMemory.builder().anonymous(LivemigVm.RAM_BLOCK, bytes).build();
             GuestMemory dst = GuestMemory.builder().anonymous(LivemigVm.RAM_BLOCK, bytes).build()) {
            fill(src.block(LivemigVm.RAM_BLOCK).segment());
            MigrationParameters.Snapshot multifd = multifdParameters();
            for (int round = 0; round < ROUNDS; round++) {
                migrateOnce(codec, src, dst, round % 2 == 0, null);
            }
            for (int round = 0; round < MULTIFD_ROUNDS; round++) {
                migrateOnce(codec, src, dst, round % 2 == 0, multifd);
            }
            if (src.block(LivemigVm.RAM_BLOCK).segment().mismatch(dst.block(LivemigVm.RAM_BLOCK).segment()) != -1) {
                throw new IOException("warm-up migration: destination RAM differs from the source");
            }
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /** Three pages of random data, then one zero page, repeated: PAGE and ZERO records both get hot. */
    private static void fill(MemorySegment ram) {
        SplittableRandom rnd = new SplittableRandom(0x11FE);
        long page = 4096;
        for (long off = 0; off < ram.byteSize(); off += page) {
            if ((off / page) % 4 == 3) continue;
            for (long i = 0; i < page; i += 8) ram.set(ValueLayout.JAVA_LONG_UNALIGNED, off + i, rnd.nextLong());
        }
    }

    private static MigrationParameters.Snapshot multifdParameters() {
        MigrationParameters p = new MigrationParameters();
        p.apply(java.util.Map.of("multifd-channels", 2L));
        return p.snapshot();
    }

    private static void migrateOnce(StreamCodec codec, GuestMemory src, GuestMemory dst, boolean freshRam,
                                    MigrationParameters.Snapshot multifd) throws IOException {
        IncomingEndpoint ep;
        try {
            ep = Transports.listen(MigrationUri.parse("tcp:127.0.0.1:0"));
        } catch (io.livemig.transport.UriException e) {
            throw new IOException(e);
        }
        CompletableFuture<Void> loaded = new CompletableFuture<>();
        Thread loader = Thread.ofPlatform().name("livemig-warmup-load").daemon().start(() -> {
            MultifdLinks.Incoming mf = null;
            try (MigrationChannel in = ep.accept()) {
                if (multifd != null) {
                    mf = new MultifdLinks.Incoming(dst, multifd, Optional.empty(), ep, in);
                    mf.awaitChannels();
                }
                codec.load(in.readable(), dst, new StreamCodec.LoadRequest("none", Optional.empty(), null, freshRam),
                        mf == null ? null : mf.eosHook());
                if (mf != null) mf.awaitEnd();
                loaded.complete(null);
            } catch (Throwable t) {
                loaded.completeExceptionally(t);
            } finally {
                if (mf != null) mf.close();
            }
        });
        try (MigrationChannel out = Transports.connect(ep.boundUri());
             MultifdLinks.Outgoing mf = multifd == null ? null
                     : new MultifdLinks.Outgoing(ep.boundUri(), src, multifd, Optional.empty(), false)) {
            codec.save(out.writable(), src, new StreamCodec.SaveRequest("none", Optional.empty(), false, "paused"), mf);
            if (mf != null) mf.finish();
            out.shutdownOutput();
            loaded.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("warm-up interrupted", e);
        } catch (ExecutionException e) {
            throw new IOException("warm-up load failed: " + e.getCause(), e.getCause());
        } finally {
            ep.close(); // also wakes a loader still blocked in accept (idempotent)
            try {
                loader.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
