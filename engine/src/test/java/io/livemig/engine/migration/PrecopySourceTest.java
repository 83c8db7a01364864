package io.livemig.engine.migration;

import io.livemig.engine.stream.DeviceRegistry;
import io.livemig.engine.stream.LoadOptions;
import io.livemig.engine.stream.LoadResult;
import io.livemig.engine.stream.MigrationStreams;
import io.livemig.engine.stream.SaveOptions;
import io.livemig.kvm.AbConsistencyCheck;
import io.livemig.kvm.AbGuest;
import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.GuestMachine;
import io.livemig.kvm.MachineState;
import io.livemig.kvm.Machines;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.Pipe;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Live precopy of a running Java-machine A-B guest through a pipe, in one process: the re-dirty proof of
 * ab-guest.md (non-converging limits, marker, watch byte, then converge) and the RAM consistency check on
 * the destination after it resumed from the migrated vCPU state. The process-level tests (QMP, tcp/unix,
 * two JVMs) are in the process package.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PrecopySourceTest {
    private static final long RAM_BYTES = 128L << 20;
    private static final long MARKER_OFFSET = (3L << 20) + 1024;
    private static final long MARKER = 0x4C49_5645_4D49_4721L;

    @Test
    void reDirtiedPagesAreResentAndTheDestinationContinuesTheGuest() throws Exception {
        try (GuestMemory srcMem = GuestMemory.builder().anonymous("ram", RAM_BYTES).build();
             GuestMemory dstMem = GuestMemory.builder().anonymous("ram", RAM_BYTES).build()) {
            SerialSink srcSerial = SerialSink.none();
            SerialSink dstSerial = SerialSink.none();
            try (GuestMachine src = Machines.create("java", srcMem, "ab", srcSerial)) {
                src.start();
                assertTrue(srcSerial.awaitCount('B', 1, Duration.ofSeconds(30)), "source never printed B");

                MigrationParameters params = new MigrationParameters();
                params.apply(Map.of("max-bandwidth", 3_000_000L, "downtime-limit", 1L)); // cannot converge
                List<MigrationStatus> seen = new CopyOnWriteArrayList<>();
                Pipe pipe = Pipe.open();
                PrecopySource source = new PrecopySource(srcMem, src, pipe.sink(),
                        new PrecopySource.Config(params, Set.of(MigrationCapability.EVENTS),
                                DirtyTracker.Config.of(DirtyTracker.Backend.SOFTWARE), SaveOptions.defaults(),
                                () -> List.of(MachineStateSection.deviceSection(src::saveState))),
                        seen::add);

                AtomicReference<MachineState> loadedState = new AtomicReference<>();
                AtomicReference<LoadResult> loaded = new AtomicReference<>();
                AtomicReference<Throwable> failure = new AtomicReference<>();
                DeviceRegistry registry = DeviceRegistry.empty();
                MachineStateSection.register(registry, loadedState::set);
                Thread dst = Thread.ofPlatform().name("test-destination").start(() -> {
                    try {
                        loaded.set(MigrationStreams.loadAll(pipe.source(), dstMem, registry, LoadOptions.defaults()));
                    } catch (Throwable t) {
                        failure.set(t);
                    }
                });
                Thread mig = Thread.ofPlatform().name("test-migration").start(() -> {
                    try {
                        source.run();
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                });

                // 2. marker written by livemig itself (not the guest), then seen on the destination
                RamBlock srcRam = srcMem.block("ram");
                MemorySegment srcSeg = srcRam.segment();
                MemorySegment dstSeg = dstMem.block("ram").segment();
                srcSeg.set(ValueLayout.JAVA_LONG_UNALIGNED, MARKER_OFFSET, MARKER);
                source.markDirty(srcRam, MARKER_OFFSET, 8);
                awaitTrue(() -> dstSeg.get(ValueLayout.JAVA_LONG_UNALIGNED, MARKER_OFFSET) == MARKER,
                        Duration.ofSeconds(60), "destination never received the marker");
                // 3. the guest dirtied the marker's page after it was sent
                byte sentValue = dstSeg.get(ValueLayout.JAVA_BYTE, 3L << 20);
                awaitTrue(() -> srcSeg.get(ValueLayout.JAVA_BYTE, 3L << 20) != sentValue,
                        Duration.ofSeconds(30), "source byte at 3 MiB never changed");
                assertEquals(MigrationStatus.ACTIVE, source.status(), "must not have converged under 1 ms/3 MB/s");
                // 4. now let it converge
                params.apply(Map.of("max-bandwidth", 1_000_000_000L, "downtime-limit", 30_000L));
                mig.join(60_000);
                dst.join(60_000);
                assertFalse(mig.isAlive() || dst.isAlive(), "migration did not finish");
                assertNull(failure.get(), () -> "failed: " + failure.get());
                assertEquals(MigrationStatus.COMPLETED, source.status());
                assertEquals(List.of(MigrationStatus.SETUP, MigrationStatus.ACTIVE, MigrationStatus.DEVICE,
                        MigrationStatus.COMPLETED), List.copyOf(seen));
                assertEquals(GuestMachine.RunState.PAUSED, src.runState(), "source stays stopped (postmigrate)");
                assertEquals("running", loaded.get().runState().orElseThrow());
                MigrationStats stats = source.stats();
                assertTrue(stats.dirtySyncCount() >= 2, "stats: " + stats);
                assertTrue(stats.downtimeMs() >= 0, "stats: " + stats);
                assertEquals(0, stats.remainingBytes());

                // 5. the destination resumes the guest where the source stopped and passes the check
                assertNotNull(loadedState.get(), "no machine state section arrived");
                assertEquals(MARKER, dstSeg.get(ValueLayout.JAVA_LONG_UNALIGNED, MARKER_OFFSET));
                try (GuestMachine dstMachine = Machines.create("java", dstMem, "ab", dstSerial)) {
                    dstMachine.loadState(loadedState.get());
                    dstMachine.start();
                    AbConsistencyCheck.Result r = AbConsistencyCheck.stopAndCheck(dstMachine,
                            AbGuest.DEFAULT_WINDOW_END_BYTES, Duration.ofSeconds(10));
                    assertTrue(r.consistent(), r.message());
                    assertEquals(0, dstSerial.count('A'), "a migrated guest must not start over");
                }
            }
        }
    }

    @Test
    void cancelLeavesTheSourceRunning() throws Exception {
        try (GuestMemory srcMem = GuestMemory.builder().anonymous("ram", RAM_BYTES).build()) {
            SerialSink srcSerial = SerialSink.none();
            try (GuestMachine src = Machines.create("java", srcMem, "ab", srcSerial)) {
                src.start();
                MigrationParameters params = new MigrationParameters();
                params.apply(Map.of("max-bandwidth", 3_000_000L, "downtime-limit", 1L));
                Pipe pipe = Pipe.open();
                Thread drain = Thread.ofPlatform().start(() -> {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(1 << 16);
                    try {
                        while (pipe.source().read(b.clear()) >= 0) {
                            Thread.onSpinWait();
                        }
                    } catch (java.io.IOException ignored) {
                        // pipe closed by the test
                    }
                });
                PrecopySource source = new PrecopySource(srcMem, src, pipe.sink(),
                        new PrecopySource.Config(params, Set.of(), DirtyTracker.Config.of(DirtyTracker.Backend.SOFTWARE),
                                SaveOptions.defaults(), List::of), s -> { });
                Thread mig = Thread.ofPlatform().start(source::run);
                awaitTrue(() -> source.status() == MigrationStatus.ACTIVE, Duration.ofSeconds(10), "never active");
                source.cancel();
                mig.join(10_000);
                assertFalse(mig.isAlive());
                assertEquals(MigrationStatus.CANCELLED, source.status());
                assertEquals(GuestMachine.RunState.RUNNING, src.runState());
                long before = srcSerial.count('B');
                assertTrue(srcSerial.awaitCount('B', before + 1, Duration.ofSeconds(30)), "source stopped printing B");
                pipe.sink().close();
                pipe.source().close();
                drain.join(5_000);
            }
        }
    }

    private static void awaitTrue(BooleanSupplier condition, Duration timeout, String message) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) throw new AssertionError(message + " within " + timeout);
            Thread.sleep(5);
        }
    }
}
