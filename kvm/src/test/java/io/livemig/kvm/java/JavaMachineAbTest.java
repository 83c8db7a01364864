package io.livemig.kvm.java;

import io.livemig.kvm.AbConsistencyCheck;
import io.livemig.kvm.AbGuest;
import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.GuestMachine.RunState;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.*;

@Timeout(60)
class JavaMachineAbTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final GuestMemory memory = TestRam.create();
    private final SerialSink serial = SerialSink.none();
    private JavaMachine machine;

    private JavaMachine ab() {
        machine = JavaMachine.create(memory, MachineConfig.of("java", "ab", serial));
        return machine;
    }

    @AfterEach
    void tearDown() {
        if (machine != null) machine.close();
        memory.close();
    }

    @Test
    void printsAThenBs() throws Exception {
        JavaMachine m = ab();
        assertEquals("java", m.accelerator());
        assertEquals(RunState.CREATED, m.runState());
        m.start();
        assertEquals(RunState.RUNNING, m.runState());
        assertTrue(serial.awaitCount('B', 3, WAIT), "expected 3 'B's within " + WAIT + ", serial: " + serial.tail());
        String out = serial.tail();
        assertTrue(out.startsWith("AB"), out);
        assertEquals(1, serial.count('A'));
        assertTrue(out.substring(1).chars().allMatch(c -> c == 'B'), out);
    }

    /**
     * The requirement: pause() returns within 10 ms, measured over 50 pauses of a busy A-B guest.
     * The assertion is on the raw wall-clock time. Only when a pause took longer AND the host scheduler kept the
     * vCPU or the calling thread waiting on a runqueue during it (read from /proc schedstat; this build host is a
     * 2-core guest shared with other builds) is that pause judged by its latency minus those waits (a lower
     * bound of the code's own part, since schedstat charges a wait when it ends), and the test says so in its
     * output. The median must stay below 2 ms regardless.
     */
    @Test
    void pauseReturnsWithin10ms() throws Exception {
        JavaMachine m = ab();
        m.start();
        assertTrue(serial.awaitCount('B', 1, WAIT), "no 'B': " + serial.tail());
        SchedStat vcpuSched = SchedStat.ofThread(m.vcpuThreadName(0)).orElse(null);
        SchedStat selfSched = SchedStat.self().orElse(null);
        int n = 50;
        long[] raw = new long[n];
        long[] own = new long[n];
        int hostDelayed = 0;
        for (int i = 0; i < n; i++) {
            Thread.sleep(ThreadLocalRandom.current().nextInt(1, 6));
            long[] w0 = waits(vcpuSched, selfSched);
            long t0 = System.nanoTime();
            m.pause();
            raw[i] = System.nanoTime() - t0;
            long[] w1 = waits(vcpuSched, selfSched);
            // Sequential critical path: the vCPU must get a CPU to finish its step and acknowledge, then the
            // caller (parked until that acknowledgement unparks it) must get a CPU to return.
            long waited = (w1[0] - w0[0]) + (w1[1] - w0[1]);
            own[i] = Math.max(0, raw[i] - waited);
            if (raw[i] >= 10_000_000L && waited > 0) hostDelayed++;
            assertEquals(RunState.PAUSED, m.runState());
            m.resume();
        }
        String summary = "pause latency over " + n + " pauses of a running A-B guest: raw " + stats(raw)
                + "; excluding host runqueue wait " + stats(own) + "; pauses >= 10 ms delayed by the host scheduler: "
                + hostDelayed + " (load average " + java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                .getSystemLoadAverage() + " on " + Runtime.getRuntime().availableProcessors() + " CPUs)";
        System.out.println(summary);
        long[] sorted = raw.clone();
        Arrays.sort(sorted);
        assertTrue(sorted[n / 2] < 2_000_000L, "median pause latency must stay far below 10 ms on any host: " + summary);
        for (int i = 0; i < n; i++) {
            boolean ok = raw[i] < 10_000_000L || (vcpuSched != null && own[i] < 10_000_000L);
            assertTrue(ok, "pause " + i + " took " + raw[i] / 1e6 + " ms. " + summary);
        }
        long bs = serial.count('B');
        assertTrue(serial.awaitCount('B', bs + 2, WAIT), "resume did not continue: " + serial.tail());
    }

    /** Runqueue waits of the vCPU and the caller so far. */
    private static long[] waits(SchedStat vcpu, SchedStat self) {
        return new long[]{vcpu == null ? 0 : vcpu.runqueueWaitNs(), self == null ? 0 : self.runqueueWaitNs()};
    }

    private static String stats(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        return String.format("median %.3f ms, p90 %.3f ms, max %.3f ms", s[s.length / 2] / 1e6,
                s[s.length * 9 / 10] / 1e6, s[s.length - 1] / 1e6);
    }

    @Test
    void pauseOfAVcpuBetweenStepsDoesNotWaitForItToBeScheduled() throws Exception {
        machine = JavaMachine.create(memory, MachineConfig.of("java", "idle", serial));
        machine.start();
        Thread.sleep(20);
        long[] raw = new long[50];
        for (int i = 0; i < raw.length; i++) {
            Thread.sleep(1);
            long t0 = System.nanoTime();
            machine.pause();
            raw[i] = System.nanoTime() - t0;
            machine.resume();
        }
        System.out.println("pause latency, idle vCPU (fast path): " + stats(raw));
        long[] s = raw.clone();
        Arrays.sort(s);
        assertTrue(s[s.length / 2] < 200_000L, stats(raw));
    }

    @Test
    void nothingChangesWhilePausedAndResumeContinues() throws Exception {
        JavaMachine m = ab();
        m.start();
        assertTrue(serial.awaitCount('B', 1, WAIT), "no 'B': " + serial.tail());
        MemorySegment ram = TestRam.ram(memory);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment before = arena.allocate(ram.byteSize(), 4096);
            for (int i = 0; i < 4; i++) {
                Thread.sleep(ThreadLocalRandom.current().nextInt(1, 20));
                m.pause();
                MemorySegment.copy(ram, 0, before, 0, ram.byteSize());
                long stepsBefore = m.steps(0);
                long bsBefore = serial.count('B');
                Thread.sleep(200);
                long diff = before.mismatch(ram);
                assertEquals(-1, diff, "RAM changed while paused at offset 0x" + Long.toHexString(diff));
                assertEquals(stepsBefore, m.steps(0), "vCPU stepped while paused");
                assertEquals(bsBefore, serial.count('B'), "serial output while paused");
                assertTrue(AbConsistencyCheck.check(memory).consistent(), AbConsistencyCheck.check(memory).message());
                m.resume();
                m.pause(); // pause right after resume: must wait for a fresh acknowledgement
                m.pause(); // idempotent
                assertEquals(RunState.PAUSED, m.runState());
                m.resume();
                m.resume(); // idempotent
                assertEquals(RunState.RUNNING, m.runState());
            }
        }
        long bs = serial.count('B');
        assertTrue(serial.awaitCount('B', bs + 2, WAIT), "resume did not continue: " + serial.tail());
    }

    @Test
    void stopAndCheckPassesOnARunningGuest() {
        JavaMachine m = ab();
        m.start();
        AbConsistencyCheck.Result r = AbConsistencyCheck.stopAndCheck(m, AbGuest.DEFAULT_WINDOW_END_BYTES, Duration.ofSeconds(10));
        assertTrue(r.consistent(), r.message());
        assertEquals(RunState.PAUSED, m.runState());
    }

    @Test
    void stopAndCheckFailsOnAGuestThatDoesNotRun() {
        JavaMachine m = ab(); // never started
        AbConsistencyCheck.Result r = AbConsistencyCheck.stopAndCheck(m, AbGuest.DEFAULT_WINDOW_END_BYTES, Duration.ofMillis(300));
        assertFalse(r.consistent());
        assertTrue(r.message().contains("not running"), r.message());
    }

    @Test
    void configurableWindowEnd() throws Exception {
        long end = 2 * TestRam.MIB + 64 * 4096;
        machine = JavaMachine.create(memory, MachineConfig.of("java", "ab", serial).withAbWindowEndBytes(end));
        machine.start();
        assertTrue(serial.awaitCount('B', 20, WAIT));
        machine.pause();
        assertTrue(AbConsistencyCheck.check(memory, end).consistent(), AbConsistencyCheck.check(memory, end).message());
        // nothing written beyond the window
        assertEquals((byte) 0, TestRam.ram(memory).get(java.lang.foreign.ValueLayout.JAVA_BYTE, end + 4096 * 10L));
        assertTrue(machine.workload(0).position().contains("loop"), machine.workload(0).position());
    }

    @Test
    void windowLargerThanRamIsRejectedBeforeStart() {
        try (GuestMemory small = TestRam.create(64 * TestRam.MIB)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> JavaMachine.create(small, MachineConfig.of("java", "ab", serial)));
            assertTrue(e.getMessage().contains("abWindowEndBytes=0x6400000"), e.getMessage());
        }
    }

    /**
     * Throttling really slows the vCPU. Progress is compared in interleaved windows (0%, 80%, 0%, 80%, ...) so
     * that the host's changing load hits both alike.
     */
    @Test
    void throttleReallySlowsTheVcpu() throws Exception {
        JavaMachine m = ab();
        m.start();
        assertTrue(serial.awaitCount('B', 1, WAIT));
        long fullSteps = 0, throttledSteps = 0, throttledWallNs = 0, sleptNs = 0;
        for (int round = 0; round < 3; round++) {
            m.setThrottlePercent(0);
            fullSteps += stepsIn(m, 250);
            m.setThrottlePercent(80);
            long s0 = m.throttledNanos(0), t0 = System.nanoTime();
            throttledSteps += stepsIn(m, 250);
            sleptNs += m.throttledNanos(0) - s0;
            throttledWallNs += System.nanoTime() - t0;
        }
        m.setThrottlePercent(0);
        String s = String.format("throttle 80%%: steps %d vs %d unthrottled (%.0f%%), slept %.0f%% of the time",
                throttledSteps, fullSteps, 100.0 * throttledSteps / fullSteps, 100.0 * sleptNs / throttledWallNs);
        System.out.println(s);
        assertTrue(throttledSteps < 0.6 * fullSteps, s);
        assertTrue(throttledSteps > 0, "a throttled vCPU must still run: " + s);
        assertTrue(sleptNs > 0, "the vCPU never slept for throttling: " + s); // (a sleep is counted when it ends)
        assertThrows(IllegalArgumentException.class, () -> m.setThrottlePercent(100));
        m.setThrottlePercent(99);
        long t0 = System.nanoTime();
        m.pause(); // a sleeping (throttled) vCPU pauses at once
        assertTrue(System.nanoTime() - t0 < 1_000_000_000L);
    }

    private static long stepsIn(JavaMachine m, long ms) throws InterruptedException {
        long s0 = m.steps(0);
        Thread.sleep(ms);
        return m.steps(0) - s0;
    }

    @Test
    void lifecycleEdges() throws Exception {
        JavaMachine m = ab();
        m.pause(); // before start: nothing runs, no-op
        assertEquals(RunState.CREATED, m.runState());
        assertNotNull(m.saveState());
        m.resume(); // from CREATED: starts
        assertEquals(RunState.RUNNING, m.runState());
        assertThrows(IllegalStateException.class, m::start);
        assertThrows(IllegalStateException.class, m::saveState);
        m.pause();
        m.close();
        assertEquals(RunState.CLOSED, m.runState());
        m.close(); // idempotent
        assertThrows(IllegalStateException.class, m::resume);
    }

    @Test
    void failingWorkloadMovesTheMachineToFailed() throws Exception {
        JavaWorkload boom = new JavaWorkload() {
            @Override
            public byte[] saveState() {
                return new byte[0];
            }

            @Override
            public void loadState(byte[] state) {
            }

            @Override
            public boolean step(GuestAccess guest, int maxPageWrites) {
                guest.writeByte(guest.ramBytes(), (byte) 1); // one past the end
                return true;
            }

            @Override
            public String name() {
                return "boom";
            }
        };
        machine = JavaMachine.create(memory, MachineConfig.of("java", "idle", serial), List.of(boom));
        machine.start();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (machine.runState() != RunState.FAILED && System.nanoTime() < deadline) Thread.sleep(5);
        assertEquals(RunState.FAILED, machine.runState());
        assertTrue(machine.failure().orElseThrow().getMessage().contains("vCPU 0"), machine.failure().get().getMessage());
        machine.pause(); // returns at once: nothing runs
    }

    @Test
    void aVcpuThatNeverFinishesItsStepMakesPauseFailClearlyAfterTheTimeout() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch inStep = new java.util.concurrent.CountDownLatch(1);
        JavaWorkload stuck = new JavaWorkload() {
            @Override
            public String name() {
                return "stuck";
            }

            @Override
            public boolean step(GuestAccess guest, int maxPageWrites) {
                inStep.countDown();
                try {
                    release.await(); // a step that does not end (stands for a vCPU that never gets back)
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return false;
            }

            @Override
            public byte[] saveState() {
                return new byte[0];
            }

            @Override
            public void loadState(byte[] state) {
            }
        };
        machine = JavaMachine.create(memory, MachineConfig.of("java", "idle", serial).withPauseTimeout(Duration.ofMillis(100)),
                List.of(stuck));
        machine.start();
        assertTrue(inStep.await(10, java.util.concurrent.TimeUnit.SECONDS));
        long t0 = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class, machine::pause);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 100 && ms < 5000, ms + " ms");
        assertTrue(e.getMessage().contains("vCPU 0") && e.getMessage().contains("did not acknowledge within 100 ms"), e.getMessage());
        assertEquals(RunState.RUNNING, machine.runState());
        machine.resume(); // withdraws the timed-out request
        long steps = machine.steps(0); // the stuck step is not counted yet
        release.countDown();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (machine.steps(0) == steps && System.nanoTime() < deadline) Thread.sleep(1);
        assertTrue(machine.steps(0) > steps, "the vCPU did not continue after resume()");
        machine.pause(); // the step ended: now it pauses
        assertEquals(RunState.PAUSED, machine.runState());
    }

    @Test
    void idleGuestWritesNothing() throws Exception {
        machine = JavaMachine.create(memory, MachineConfig.of("java", "idle", serial).withVcpuCount(2));
        machine.start();
        try (DirtyTracker t = machine.startDirtyTracking(DirtyTracker.Config.of(DirtyTracker.Backend.SOFTWARE))) {
            Thread.sleep(50);
            machine.pause(); // (its latency is measured in pauseOfAVcpuBetweenStepsDoesNotWaitForItToBeScheduled)
            io.livemig.memory.DirtyBitmap bm = new io.livemig.memory.DirtyBitmap(memory.block("ram").pages());
            assertEquals(0, t.sync(b -> bm));
            assertEquals(0, serial.totalBytes());
            assertEquals(List.of("cpu0/idle", "cpu1/idle"),
                    machine.saveState().entries().stream().map(e -> e.name()).toList());
        }
    }

    @Test
    void onlyTheSoftwareBackendAndOneTrackerAtATime() {
        JavaMachine m = ab();
        for (DirtyTracker.Backend b : List.of(DirtyTracker.Backend.RING, DirtyTracker.Backend.LOG, DirtyTracker.Backend.CLEAR)) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> m.startDirtyTracking(DirtyTracker.Config.of(b)));
            assertEquals("dirty tracking '" + b.name().toLowerCase() + "' needs KVM; the java machine supports: software", e.getMessage());
        }
        try (DirtyTracker t = m.startDirtyTracking(DirtyTracker.Config.of(DirtyTracker.Backend.SOFTWARE))) {
            assertEquals(DirtyTracker.Backend.SOFTWARE, t.backend());
            assertThrows(IllegalStateException.class, () -> m.startDirtyTracking(DirtyTracker.Config.of(DirtyTracker.Backend.SOFTWARE)));
        }
        m.startDirtyTracking(DirtyTracker.Config.of(DirtyTracker.Backend.SOFTWARE)).close(); // after close: allowed again
    }
}
