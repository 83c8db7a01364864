package io.livemig.kvm.hw;

import io.livemig.kvm.AbConsistencyCheck;
import io.livemig.kvm.AbGuest;
import io.livemig.kvm.GuestMachine;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

/** The A-B and idle guests on /dev/kvm: output, pause latency, a really stopped vCPU, failures. */
@ExtendWith(KvmTests.class)
@Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES)
class KvmAbGuestTest {
    static final Duration WAIT = KvmTests.waitTime();
    static final long RAM = 128L << 20;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void kvm() {
        KvmTests.assumeKvm();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose.reversed()) c.close();
        toClose.clear();
    }

    <T extends AutoCloseable> T later(T c) {
        toClose.add(c);
        return c;
    }

    KvmMachine machine(String guest, SerialSink serial) {
        GuestMemory mem = later(GuestMemory.builder().anonymous("ram", RAM).build());
        return later(KvmMachine.create(mem, KvmTests.config(guest, serial), KvmMachine.Options.defaults()));
    }

    static byte at1MiB(GuestMachine m) {
        return m.memory().block("ram").segment().get(JAVA_BYTE, AbGuest.WINDOW_START_BYTES);
    }

    @Test
    void abGuestPrintsAThenBsAndItsRamIsConsistentWhenPaused() throws Exception {
        SerialSink serial = later(SerialSink.none());
        KvmMachine m = machine("ab", serial);
        m.start();
        assertTrue(serial.awaitCount('B', 3, WAIT), "3 'B's within " + WAIT + ": '" + serial.tail() + "', " + m.failure());
        assertTrue(serial.tail().matches("AB+"), serial.tail());
        assertEquals(1, serial.count('A'));
        m.pause();
        assertEquals(GuestMachine.RunState.PAUSED, m.runState());
        AbConsistencyCheck.Result r = AbConsistencyCheck.check(m.memory(), KvmTests.abWindowEnd());
        assertTrue(r.consistent(), r.message());
        assertTrue(m.failure().isEmpty());
    }

    @Test
    void pauseReturnsWithin10msAndNothingRunsUntilResume() throws Exception {
        SerialSink serial = later(SerialSink.none());
        KvmMachine m = machine("ab", serial);
        m.start();
        assertTrue(serial.awaitCount('B', 1, WAIT), serial.tail());
        long[] ns = new long[30];
        for (int i = 0; i < ns.length; i++) {
            Thread.sleep(5);
            long t0 = System.nanoTime();
            m.pause();
            ns[i] = System.nanoTime() - t0;
            byte b = at1MiB(m);
            long bs = serial.count('B');
            if (i % 10 == 0) {
                Thread.sleep(200);
                assertEquals(b, at1MiB(m), "byte at 1 MiB changed while paused");
                assertEquals(bs, serial.count('B'), "guest printed while paused");
            }
            m.resume();
        }
        long max = Arrays.stream(ns).max().orElseThrow();
        System.out.println("KVM A-B pause latency: max " + max / 1000 + " us, median " + Arrays.stream(ns).sorted().toArray()[ns.length / 2] / 1000 + " us");
        if (KvmTests.underTcg()) {
            System.out.println("(TCG-emulated host: pause latency reported, not asserted)");
        } else {
            assertTrue(max < 10_000_000, "pause() took " + max / 1000 + " us, expected < 10 ms");
        }
        byte before = at1MiB(m);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (at1MiB(m) == before && System.nanoTime() < deadline) Thread.sleep(1);
        assertNotEquals(before, at1MiB(m), "guest runs again after resume");
    }

    @Test
    void idleGuestHaltedInTheKernelPausesWithin10ms() throws Exception {
        SerialSink serial = later(SerialSink.none());
        KvmMachine m = machine("idle", serial);
        m.start();
        Thread.sleep(50);
        for (int i = 0; i < 10; i++) {
            long t0 = System.nanoTime();
            m.pause();
            long dt = System.nanoTime() - t0;
            System.out.println("KVM idle guest pause latency: " + dt / 1000 + " us");
            if (!KvmTests.underTcg()) assertTrue(dt < 10_000_000, "pause() of a halted vCPU took " + dt / 1000 + " us");
            m.resume();
        }
        assertEquals(0, serial.totalBytes());
        m.pause();
        var s = m.saveState(); // halted vCPU: mp_state HALTED, still savable
        assertNotNull(s.entry("cpu0/mp_state"));
    }

    @Test
    void saveStateWhileRunningIsRefused() throws Exception {
        SerialSink serial = later(SerialSink.none());
        KvmMachine m = machine("ab", serial);
        m.start();
        var e = assertThrows(IllegalStateException.class, m::saveState);
        assertTrue(e.getMessage().contains("RUNNING"), e.getMessage());
        m.pause();
        m.saveState();
    }

    @Test
    void aTripleFaultStopsTheVmNamingTheExitAndRip() throws Exception {
        SerialSink serial = later(SerialSink.none());
        KvmMachine m = machine("ab", serial);
        MemorySegment ram = m.memory().block("ram").segment();
        // Real mode: lidt [0x7C10] (limit 0), int3 -> #GP -> #DF -> shutdown.
        byte[] code = {0x0F, 0x01, 0x1E, 0x10, 0x7C, (byte) 0xCC};
        MemorySegment.copy(code, 0, ram, JAVA_BYTE, 0x7C00, code.length);
        for (int i = 0; i < 6; i++) ram.set(JAVA_BYTE, 0x7C10 + i, (byte) 0);
        m.start();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (m.runState() != GuestMachine.RunState.FAILED && System.nanoTime() < deadline) Thread.sleep(5);
        assertEquals(GuestMachine.RunState.FAILED, m.runState());
        String msg = m.failure().orElseThrow().getMessage();
        assertTrue(msg.contains("KVM_EXIT_SHUTDOWN(8)") && msg.contains("rip=0x"), msg);
        m.pause(); // idempotent on a failed machine
    }

    @Test
    void badSlotsAreRejectedBeforeTheKernelSeesThem() {
        SerialSink serial = later(SerialSink.none());
        KvmMachine m = machine("idle", serial);
        Vm vm = m.vm();
        MemorySegment ram = m.memory().block("ram").segment();
        var overlap = assertThrows(IllegalArgumentException.class, () -> vm.setMemorySlot(
                new MemorySlotPlan.Slot(5, 64L << 20, 4096, "ram", 0, 4096), ram.asSlice(0, 4096), 0));
        assertTrue(overlap.getMessage().contains("overlap"), overlap.getMessage());
        var size = assertThrows(IllegalArgumentException.class, () -> vm.setMemorySlot(
                new MemorySlotPlan.Slot(5, 1L << 32, 8192, "ram", 0, 4096), ram.asSlice(0, 4096), 0));
        assertTrue(size.getMessage().contains("host range is 4096 bytes, expected 8192"), size.getMessage());
        var many = assertThrows(IllegalArgumentException.class, () -> vm.setMemorySlot(
                new MemorySlotPlan.Slot(vm.maxSlots(), 1L << 32, 4096, "ram", 0, 4096), ram.asSlice(0, 4096), 0));
        assertTrue(many.getMessage().contains("id="), many.getMessage());
        var ring = assertThrows(UnsupportedOperationException.class, () -> m.startDirtyTracking(
                io.livemig.kvm.DirtyTracker.Config.of(io.livemig.kvm.DirtyTracker.Backend.RING)));
        assertTrue(ring.getMessage().contains("withDirtyRing"), ring.getMessage());
    }
}
