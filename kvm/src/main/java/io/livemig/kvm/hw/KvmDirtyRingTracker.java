package io.livemig.kvm.hw;

import io.livemig.kvm.DirtyTracker;
import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import io.livemig.sys.abi.KvmH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.List;
import java.util.function.Consumer;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Dirty tracking with the per-vCPU KVM dirty ring ({@link DirtyTracker.Backend#RING}): every {@link #sync}
 * harvests all rings ({@link DirtyRingHarvester}) into per-slot accumulation bitmaps, calls
 * KVM_RESET_DIRTY_RINGS, and moves the accumulated pages into the caller's bitmaps.
 *
 * <p>A vCPU whose ring reaches KVM's soft limit exits with KVM_EXIT_DIRTY_RING_FULL; its run loop calls
 * {@link #reapAfterRingFull}, which harvests into the same accumulation bitmaps (so no entry is lost between
 * syncs), resets, and lets the vCPU re-enter.
 *
 * <p>Threads: each ring's {@link DirtyRingHarvester} monitor serialises harvesting it between the migration thread
 * (sync) and the vCPU thread (ring full); KVM_RESET_DIRTY_RINGS is called outside it (KVM serialises resets and
 * only recycles entries already marked RESET). No lock is held across KVM_RUN. The accumulation bitmaps are {@link DirtyBitmap}s (atomic word RMWs): vCPU threads set, sync harvests.
 */
final class KvmDirtyRingTracker implements DirtyTracker {
    private static final java.lang.foreign.ValueLayout.OfLong LE64 = JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Vm vm;
    private final GuestMemory memory;
    private final List<MemorySlotPlan.Slot> slots;
    private final DirtyRingHarvester[] harvesters;
    private final DirtyBitmap[] accumulated;
    private final Consumer<DirtyTracker> onClose;
    private volatile boolean closed;
    private volatile long bogusEntries;

    KvmDirtyRingTracker(Vm vm, List<Vcpu> vcpus, GuestMemory memory, MemorySlotPlan plan, Consumer<DirtyTracker> onClose) {
        this.vm = vm;
        this.memory = memory;
        this.slots = plan.slots();
        this.onClose = onClose;
        this.harvesters = new DirtyRingHarvester[vcpus.size()];
        for (int i = 0; i < vcpus.size(); i++) {
            harvesters[i] = harvesterOf(vcpus.get(i));
        }
        this.accumulated = new DirtyBitmap[slots.size()];
        for (int i = 0; i < slots.size(); i++) accumulated[i] = new DirtyBitmap(slots.get(i).pages());
        for (MemorySlotPlan.Slot s : slots) vm.setSlotFlags(s.id(), vm.binding(s.id()).flags() | KvmH.KVM_MEM_LOG_DIRTY_PAGES);
    }

    /** The vCPU's harvester (owned by the Vcpu, so its fetch index survives trackers); its monitor serialises harvests. */
    static DirtyRingHarvester harvesterOf(Vcpu v) {
        DirtyRingHarvester h = v.dirtyRingHarvester();
        if (h == null) throw new IllegalStateException("vCPU " + v.id() + " has no dirty ring");
        return h;
    }

    @Override
    public Backend backend() {
        return Backend.RING;
    }

    private void record(int asId, int slotId, long offset) {
        if (asId != 0 || slotId < 0 || slotId >= accumulated.length || offset < 0 || offset >= accumulated[slotId].pages()) {
            bogusEntries++; // e.g. the scripted guest's scratch slot, or an SMM address space: not guest RAM we track
            return;
        }
        accumulated[slotId].set(offset);
    }

    /** Harvests every ring and resets; returns entries harvested. Caller holds no lock. */
    int reapAll() {
        int n = 0;
        for (DirtyRingHarvester h : harvesters) {
            synchronized (h) {
                n += h.harvest(this::record);
            }
        }
        if (n > 0) vm.resetDirtyRings();
        return n;
    }

    /** From a vCPU thread on KVM_EXIT_DIRTY_RING_FULL. */
    void reapAfterRingFull(int vcpuId) {
        DirtyRingHarvester h = harvesters[vcpuId];
        synchronized (h) {
            h.harvest(this::record);
        }
        vm.resetDirtyRings(); // also when 0 were new: another thread may have harvested without resetting yet
    }

    /** Ring full while no tracker is active (entries left over from a closed tracker): drop them and reset. */
    static void discardAndReset(Vm vm, Vcpu vcpu) {
        DirtyRingHarvester h = harvesterOf(vcpu);
        synchronized (h) {
            h.harvest((a, s, o) -> { });
        }
        vm.resetDirtyRings();
    }

    @Override
    public long sync(DirtyBitmaps bitmaps) {
        if (closed) throw new IllegalStateException("tracker closed");
        reapAll();
        long reported = 0;
        try (Arena arena = Arena.ofConfined()) {
            for (int i = 0; i < slots.size(); i++) {
                MemorySlotPlan.Slot s = slots.get(i);
                DirtyBitmap acc = accumulated[i];
                MemorySegment words = arena.allocate(Math.max(8, acc.wordCount() * 8), 8);
                for (long w = 0; w < acc.wordCount(); w++) {
                    long x = acc.harvestWord(w);
                    if (x != 0) {
                        words.set(LE64, w * 8, x);
                        reported += Long.bitCount(x);
                    }
                }
                RamBlock block = memory.block(s.blockName());
                bitmaps.of(block).orKernelBitmap(words, s.firstBlockPage(), s.pages());
            }
        }
        return reported;
    }

    /** Entries that named no tracked slot (diagnostics). */
    long bogusEntries() {
        return bogusEntries;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            for (MemorySlotPlan.Slot s : slots) vm.setSlotFlags(s.id(), vm.binding(s.id()).flags() & ~KvmH.KVM_MEM_LOG_DIRTY_PAGES);
            reapAll(); // drain what was logged before logging stopped, so the next tracker starts clean
        } finally {
            onClose.accept(this);
        }
    }
}
