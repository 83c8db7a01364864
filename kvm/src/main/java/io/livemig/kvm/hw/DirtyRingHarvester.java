package io.livemig.kvm.hw;

import io.livemig.sys.abi.KvmH;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Reads one vCPU's KVM dirty ring (an mmap'd array of {@code struct kvm_dirty_gfn}, KVM the producer, us the
 * consumer), as {@code Documentation/virt/kvm/api.rst} (KVM_CAP_DIRTY_LOG_RING) prescribes:
 *
 * <pre>
 *   entry i = ring[fetchIndex &amp; (entries - 1)], 16 bytes:
 *   +0  u32 flags   bit 0 DIRTY (set by KVM, published with a release store)
 *                   bit 1 RESET (set by us: harvested, waiting for KVM_RESET_DIRTY_RINGS)
 *   +4  u32 slot    (address space id &lt;&lt; 16) | slot id
 *   +8  u64 offset  page number within the slot
 * </pre>
 *
 * Memory ordering: {@code flags} is read with an acquire load, so {@code slot}/{@code offset} read after it
 * are the ones KVM wrote before publishing DIRTY; RESET is written with a release store after we read them,
 * so KVM (which reads flags before recycling the entry) never overwrites an entry we have not finished with.
 * The ring is harvested in order and stops at the first entry without DIRTY. {@code fetchIndex} is a
 * free-running u32 like KVM's own indices; only its low bits address the ring.
 *
 * <p>Threads: one harvester per ring; callers serialise {@link #harvest} (the migration thread's sync and the
 * vCPU thread's ring-full exit both take the tracker's lock).
 */
public final class DirtyRingHarvester {
    /**
     * Smallest ring accepted: KVM keeps {@code kvm_dirty_ring_get_rsvd_entries()} = 64 + the CPU's PML buffer
     * (512 on Intel with PML) entries in reserve and rejects rings not larger than that; 1024 entries
     * (16 KiB) is the smallest power of two that works on every host.
     */
    public static final int MIN_ENTRIES = 1024;
    /** KVM_DIRTY_RING_MAX_ENTRIES in virt/kvm/dirty_ring.c. */
    public static final int KVM_MAX_ENTRIES = 65536;
    private static final VarHandle FLAGS = JAVA_INT.varHandle();

    /** Receives one harvested entry. */
    @FunctionalInterface
    public interface Sink {
        void dirty(int asId, int slotId, long pageOffset);
    }

    private final MemorySegment ring;
    private final int entries;
    private final int mask;
    private int fetchIndex;

    /** @param ring the mapping, {@code entries * 16} bytes */
    public DirtyRingHarvester(MemorySegment ring, int entries) {
        if (entries <= 0 || Integer.bitCount(entries) != 1) {
            throw new IllegalArgumentException("ring entries=" + entries + ", expected a power of two");
        }
        if (ring.byteSize() < (long) entries * KvmH.kvm_dirty_gfn.SIZE) {
            throw new IllegalArgumentException("ring mapping is " + ring.byteSize() + " bytes, expected " + (long) entries * KvmH.kvm_dirty_gfn.SIZE);
        }
        this.ring = ring;
        this.entries = entries;
        this.mask = entries - 1;
    }

    /**
     * Checks a ring size before KVM sees it: a power of two; at least one page of entries and more than KVM's
     * reserve; at most KVM's maximum and what KVM_CHECK_EXTENSION reported ({@code maxRingBytes}).
     */
    public static void validateEntries(int entries, long maxRingBytes) {
        long bytes = (long) entries * KvmH.kvm_dirty_gfn.SIZE;
        if (entries <= 0 || Integer.bitCount(entries) != 1) {
            throw new IllegalArgumentException("ringEntries=" + entries + ", expected a power of two");
        }
        if (entries < MIN_ENTRIES) {
            throw new IllegalArgumentException("ringEntries=" + entries + ", expected >= " + MIN_ENTRIES
                    + " (KVM reserves up to 576 entries of a ring for itself)");
        }
        long max = Math.min((long) KVM_MAX_ENTRIES * KvmH.kvm_dirty_gfn.SIZE, maxRingBytes);
        if (bytes > max) {
            throw new IllegalArgumentException("ringEntries=" + entries + " (" + bytes + " bytes), expected <= " + max / KvmH.kvm_dirty_gfn.SIZE
                    + " entries (KVM allows " + max + " bytes per ring)");
        }
    }

    public int entries() {
        return entries;
    }

    /** The next entry this harvester will read (free-running u32 as a Java int). */
    public int fetchIndex() {
        return fetchIndex;
    }

    /**
     * Harvests every published entry in order: hands it to {@code sink}, marks it RESET. Returns the number
     * harvested (at most {@code entries}: a full ring). The caller then calls KVM_RESET_DIRTY_RINGS.
     */
    public int harvest(Sink sink) {
        int n = 0;
        while (n < entries) {
            long at = (long) (fetchIndex & mask) * KvmH.kvm_dirty_gfn.SIZE;
            int flags = (int) FLAGS.getAcquire(ring, at + KvmH.kvm_dirty_gfn.flags);
            if ((flags & KvmH.KVM_DIRTY_GFN_F_DIRTY) == 0) break;
            int slot = ring.get(JAVA_INT, at + KvmH.kvm_dirty_gfn.slot);
            long offset = ring.get(JAVA_LONG, at + KvmH.kvm_dirty_gfn.offset);
            sink.dirty(slot >>> 16, slot & 0xFFFF, offset);
            FLAGS.setRelease(ring, at + KvmH.kvm_dirty_gfn.flags, KvmH.KVM_DIRTY_GFN_F_RESET);
            fetchIndex++;
            n++;
        }
        return n;
    }
}
