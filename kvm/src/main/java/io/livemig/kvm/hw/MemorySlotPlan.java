package io.livemig.kvm.hw;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Where guest RAM goes in guest-physical space, as KVM memory slots, checked before any ioctl is made
 * (so bad input gives an error that names the slot and the field, not a bare EINVAL from the kernel).
 *
 * <p>{@link #pcLayout} places RAM blocks one after another from guest-physical 0, PC style: RAM below
 * {@link #LOW_RAM_END} (3 GiB) stays there, the rest continues at {@link #HIGH_RAM_START} (4 GiB), so a block
 * that crosses 3 GiB becomes two slots; the [3 GiB, 4 GiB) hole holds the TSS pages KVM needs on Intel
 * ({@link #TSS_GPA}).
 *
 * @param slots    the slots, ordered by slot id
 * @param maxSlots what KVM_CAP_NR_MEMSLOTS allows (or {@link Integer#MAX_VALUE} when unknown)
 */
public record MemorySlotPlan(List<Slot> slots, int maxSlots) {
    public static final long PAGE_BYTES = 4096;
    /** End of low RAM (PCI hole from here up to 4 GiB). */
    public static final long LOW_RAM_END = 0xC000_0000L;
    /** Where RAM above {@link #LOW_RAM_END} continues. */
    public static final long HIGH_RAM_START = 0x1_0000_0000L;
    /** KVM_SET_TSS_ADDR: three pages in the PCI hole (the address kvmtool and Firecracker use). */
    public static final long TSS_GPA = 0xFFFB_D000L;
    public static final long TSS_BYTES = 3 * PAGE_BYTES;
    /** Guest-physical addresses are at most 52 bits on x86-64 (MAXPHYADDR). */
    public static final long MAX_GPA_EXCLUSIVE = 1L << 52;

    /**
     * One KVM memory slot: guest-physical range [gpa, gpa + sizeBytes) backed by
     * [blockOffset, blockOffset + sizeBytes) of the RAM block {@code blockName}.
     */
    public record Slot(int id, long gpa, long sizeBytes, String blockName, long blockOffset, long blockPageBytes) {
        public long endGpa() {
            return gpa + sizeBytes;
        }

        /** First 4 KiB page of this slot within its block (for dirty bitmaps, which are per block). */
        public long firstBlockPage() {
            return blockOffset / PAGE_BYTES;
        }

        public long pages() {
            return sizeBytes / PAGE_BYTES;
        }

        public boolean containsGpa(long a) {
            return a >= gpa && a < endGpa();
        }

        @Override
        public String toString() {
            return "slot " + id + " [0x" + Long.toHexString(gpa) + ", 0x" + Long.toHexString(endGpa()) + ") = "
                    + blockName + "+0x" + Long.toHexString(blockOffset);
        }
    }

    /** A RAM block as the plan needs it (name, size, backing page size). */
    public record Block(String name, long sizeBytes, long pageSizeBytes) {
    }

    public MemorySlotPlan {
        slots = List.copyOf(slots);
        validate(slots, maxSlots);
    }

    /** The PC layout of {@code blocks} (see the class comment), validated against {@code maxSlots}. */
    public static MemorySlotPlan pcLayout(List<Block> blocks, int maxSlots) {
        List<Slot> slots = new ArrayList<>();
        long gpa = 0;
        int id = 0;
        for (Block b : blocks) {
            if (b.sizeBytes() <= 0 || b.pageSizeBytes() <= 0) {
                // let validate() name it
                slots.add(new Slot(id++, gpa, b.sizeBytes(), b.name(), 0, b.pageSizeBytes()));
                continue;
            }
            long align = Math.max(PAGE_BYTES, b.pageSizeBytes());
            gpa = alignUp(gpa, align);
            long offset = 0;
            long left = b.sizeBytes();
            while (left > 0) {
                if (gpa >= LOW_RAM_END && gpa < HIGH_RAM_START) gpa = HIGH_RAM_START;
                long room = gpa < LOW_RAM_END ? LOW_RAM_END - gpa : Long.MAX_VALUE;
                long n = Math.min(left, room);
                slots.add(new Slot(id++, gpa, n, b.name(), offset, b.pageSizeBytes()));
                gpa += n;
                offset += n;
                left -= n;
            }
        }
        return new MemorySlotPlan(slots, maxSlots);
    }

    /** The slot holding guest-physical address {@code gpa}, or null. */
    public Slot slotAt(long gpa) {
        for (Slot s : slots) if (s.containsGpa(gpa)) return s;
        return null;
    }

    /** The slots that map {@code blockName}. */
    public List<Slot> slotsOf(String blockName) {
        return slots.stream().filter(s -> s.blockName().equals(blockName)).toList();
    }

    /** Highest guest-physical address + 1. */
    public long endGpa() {
        return slots.stream().mapToLong(Slot::endGpa).max().orElse(0);
    }

    /**
     * Checks one slot list; IllegalArgumentException naming the slot, the field and what was expected.
     * Rules: ids unique and below maxSlots; gpa, size and block offset multiples of 4 KiB and of the backing
     * page size (huge pages must map whole); size > 0; no two slots overlap in guest-physical space; no slot
     * covers the TSS pages; gpa + size fits 52 bits.
     */
    public static void validate(List<Slot> slots, int maxSlots) {
        if (maxSlots <= 0) throw new IllegalArgumentException("maxSlots=" + maxSlots + ", expected > 0");
        if (slots.size() > maxSlots) {
            throw new IllegalArgumentException("too many memory slots: " + slots.size() + ", KVM allows " + maxSlots
                    + " (KVM_CAP_NR_MEMSLOTS)");
        }
        Set<Integer> ids = new HashSet<>();
        for (Slot s : slots) {
            if (s.id() < 0 || s.id() >= maxSlots || s.id() > 0xFFFF) {
                throw new IllegalArgumentException(s + ": id=" + s.id() + ", expected 0.." + (Math.min(maxSlots, 0x10000) - 1));
            }
            if (!ids.add(s.id())) throw new IllegalArgumentException(s + ": id=" + s.id() + " used twice");
            long align = Math.max(PAGE_BYTES, s.blockPageBytes());
            if (s.blockPageBytes() <= 0 || Long.bitCount(s.blockPageBytes()) != 1) {
                throw new IllegalArgumentException(s + ": blockPageBytes=" + s.blockPageBytes() + ", expected a power of two");
            }
            if (s.sizeBytes() <= 0) throw new IllegalArgumentException(s + ": sizeBytes=" + s.sizeBytes() + ", expected > 0");
            if (s.sizeBytes() % align != 0) {
                throw new IllegalArgumentException(s + ": sizeBytes=0x" + Long.toHexString(s.sizeBytes())
                        + ", expected a multiple of 0x" + Long.toHexString(align) + " (the backing page size)");
            }
            if (s.gpa() < 0 || s.gpa() % align != 0) {
                throw new IllegalArgumentException(s + ": gpa=0x" + Long.toHexString(s.gpa())
                        + ", expected a multiple of 0x" + Long.toHexString(align));
            }
            if (s.blockOffset() < 0 || s.blockOffset() % align != 0) {
                throw new IllegalArgumentException(s + ": blockOffset=0x" + Long.toHexString(s.blockOffset())
                        + ", expected a multiple of 0x" + Long.toHexString(align));
            }
            if (s.gpa() > MAX_GPA_EXCLUSIVE - s.sizeBytes()) {
                throw new IllegalArgumentException(s + ": ends above 2^52 (MAXPHYADDR)");
            }
            if (s.gpa() < TSS_GPA + TSS_BYTES && TSS_GPA < s.endGpa()) {
                throw new IllegalArgumentException(s + ": overlaps the TSS pages [0x" + Long.toHexString(TSS_GPA) + ", 0x"
                        + Long.toHexString(TSS_GPA + TSS_BYTES) + ") that KVM_SET_TSS_ADDR reserves");
            }
        }
        List<Slot> byGpa = new ArrayList<>(slots);
        byGpa.sort(Comparator.comparingLong(Slot::gpa));
        for (int i = 1; i < byGpa.size(); i++) {
            Slot a = byGpa.get(i - 1);
            Slot b = byGpa.get(i);
            if (b.gpa() < a.endGpa()) {
                throw new IllegalArgumentException("memory slots overlap: " + a + " and " + b);
            }
        }
    }

    static long alignUp(long v, long a) {
        return (v + a - 1) & -a;
    }
}
