package io.livemig.kvm.hw;

import io.livemig.sys.abi.KvmH;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The ring consumer against a Java model of KVM's producer and reset (virt/kvm/dirty_ring.c): push writes
 * slot/offset then publishes DIRTY with a release store; reset walks from its own index while entries are
 * RESET, zeroes them and frees the space. Exercises index wrap-around and a concurrent producer.
 */
class DirtyRingHarvesterTest {
    private static final VarHandle FLAGS = JAVA_INT.varHandle();

    /** KVM's side of one ring. */
    static final class KernelModel {
        final MemorySegment ring;
        final int size;
        volatile int dirtyIndex;
        int resetIndex;

        KernelModel(MemorySegment ring, int size) {
            this.ring = ring;
            this.size = size;
        }

        boolean push(int slot, long offset) {
            if (dirtyIndex - resetIndex >= size) return false; // full
            long at = (long) (dirtyIndex & (size - 1)) * KvmH.kvm_dirty_gfn.SIZE;
            assertEquals(0, (int) FLAGS.getAcquire(ring, at), "KVM reuses only reset (zeroed) entries");
            ring.set(JAVA_INT, at + KvmH.kvm_dirty_gfn.slot, slot);
            ring.set(JAVA_LONG, at + KvmH.kvm_dirty_gfn.offset, offset);
            FLAGS.setRelease(ring, at + KvmH.kvm_dirty_gfn.flags, KvmH.KVM_DIRTY_GFN_F_DIRTY);
            dirtyIndex++;
            return true;
        }

        synchronized int reset() {
            int n = 0;
            while (resetIndex != dirtyIndex) {
                long at = (long) (resetIndex & (size - 1)) * KvmH.kvm_dirty_gfn.SIZE;
                int f = (int) FLAGS.getAcquire(ring, at);
                if ((f & KvmH.KVM_DIRTY_GFN_F_RESET) == 0) break;
                FLAGS.setRelease(ring, at, 0);
                resetIndex++;
                n++;
            }
            return n;
        }
    }

    @Test
    void harvestsInOrderMarksResetAndWrapsAround() {
        try (Arena arena = Arena.ofConfined()) {
            int size = 1024;
            MemorySegment ring = arena.allocate(size * KvmH.kvm_dirty_gfn.SIZE, 4096);
            KernelModel k = new KernelModel(ring, size);
            DirtyRingHarvester h = new DirtyRingHarvester(ring, size);
            long next = 0;
            long expect = 0;
            for (int round = 0; round < 10; round++) {
                int n = 300 + round * 70; // crosses the end of the ring several times
                for (int i = 0; i < n; i++) assertTrue(k.push((1 << 16) | 7, next++));
                List<long[]> got = new ArrayList<>();
                assertEquals(n, h.harvest((as, slot, off) -> got.add(new long[] {as, slot, off})));
                for (long[] g : got) {
                    assertEquals(1, g[0], "address space id from the high 16 bits");
                    assertEquals(7, g[1], "slot id from the low 16 bits");
                    assertEquals(expect++, g[2]);
                }
                assertEquals(0, h.harvest((a, s, o) -> fail("nothing new")));
                assertEquals(n, k.reset(), "every harvested entry is RESET for KVM");
            }
            assertEquals(next, Integer.toUnsignedLong(h.fetchIndex()));
        }
    }

    @Test
    void aFullRingIsHarvestedCompletelyWithNothingLost() {
        try (Arena arena = Arena.ofConfined()) {
            int size = 1024;
            MemorySegment ring = arena.allocate(size * KvmH.kvm_dirty_gfn.SIZE, 4096);
            KernelModel k = new KernelModel(ring, size);
            DirtyRingHarvester h = new DirtyRingHarvester(ring, size);
            for (int i = 0; i < size; i++) assertTrue(k.push(0, i));
            assertFalse(k.push(0, -1), "model ring full");
            long[] seen = new long[size];
            assertEquals(size, h.harvest((a, s, o) -> seen[(int) o]++));
            for (long c : seen) assertEquals(1, c);
            assertEquals(size, k.reset());
            assertTrue(k.push(0, 5));
        }
    }

    @Test
    @Timeout(60)
    void concurrentProducerEveryEntryHarvestedExactlyOnce() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            int size = 1024;
            int total = 500_000;
            MemorySegment ring = arena.allocate(size * KvmH.kvm_dirty_gfn.SIZE, 4096);
            KernelModel k = new KernelModel(ring, size);
            DirtyRingHarvester h = new DirtyRingHarvester(ring, size);
            AtomicBoolean done = new AtomicBoolean();
            Thread producer = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < total; ) {
                    if (k.push(i & 0xFFFF, i)) i++;
                    else Thread.onSpinWait();
                }
                done.set(true);
            });
            long[] expected = {0};
            while (expected[0] < total) {
                h.harvest((a, slot, off) -> {
                    assertEquals(expected[0], off, "in order, none skipped or repeated");
                    assertEquals(off & 0xFFFF, slot, "slot read together with its offset (acquire on flags)");
                    expected[0]++;
                });
                k.reset();
            }
            producer.join();
            assertTrue(done.get());
        }
    }

    @Test
    void ringSizesAreValidated() {
        DirtyRingHarvester.validateEntries(1024, 1 << 20);
        DirtyRingHarvester.validateEntries(65536, 1 << 20);
        var npot = assertThrows(IllegalArgumentException.class, () -> DirtyRingHarvester.validateEntries(3000, 1 << 20));
        assertTrue(npot.getMessage().contains("ringEntries=3000, expected a power of two"), npot.getMessage());
        var small = assertThrows(IllegalArgumentException.class, () -> DirtyRingHarvester.validateEntries(512, 1 << 20));
        assertTrue(small.getMessage().contains("expected >= 1024"), small.getMessage());
        var big = assertThrows(IllegalArgumentException.class, () -> DirtyRingHarvester.validateEntries(131072, 1 << 20));
        assertTrue(big.getMessage().contains("expected <= 65536"), big.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DirtyRingHarvester.validateEntries(4096, 16 * 2048));
        assertThrows(IllegalArgumentException.class, () -> KvmMachine.Options.withDirtyRing(1000));
        assertThrows(IllegalArgumentException.class, () -> KvmMachine.Options.withDirtyRing(-4));
        assertEquals(4096, KvmMachine.Options.withDirtyRing(4096).dirtyRingEntries());
    }
}
