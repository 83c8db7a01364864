package io.livemig.kvm.hw;

import io.livemig.sys.LibC;
import io.livemig.sys.SyscallException;
import io.livemig.sys.abi.ErrnoH;
import io.livemig.sys.abi.KvmH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One KVM VM fd (rust-vmm's {@code VmFd}): memory slots, in-kernel LAPIC, dirty logging (bitmap, manual
 * protect, ring), the VM clock, and the factory of {@link Vcpu}s. Owns its fd; closes it exactly once.
 *
 * <p>Threads: slot changes and dirty-log calls come from one control thread at a time (the machine
 * serialises them); {@link #resetDirtyRings()} may be called from any thread (KVM serialises it internally).
 */
public final class Vm implements AutoCloseable {
    /** IOAPIC pins reserved for a split irqchip (QEMU's default is 24, the IOAPIC's pin count). */
    private static final int SPLIT_IRQCHIP_ROUTES = KvmH.KVM_IOAPIC_NUM_PINS;

    /** A slot as registered with KVM: where it is, what backs it, and its current flags. */
    public record SlotBinding(MemorySlotPlan.Slot slot, MemorySegment host, int flags) {
    }

    private final Kvm kvm;
    private final int fd;
    private final int maxSlots;
    private final Map<Integer, SlotBinding> slots = new TreeMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private int dirtyRingEntries;
    private boolean dirtyRingAcqRel;
    private boolean manualProtect;
    private int vcpusCreated;

    Vm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
        int n = LibC.ioctl(fd, KvmH.KVM_CHECK_EXTENSION, KvmH.KVM_CAP_NR_MEMSLOTS, "cap=KVM_CAP_NR_MEMSLOTS");
        this.maxSlots = n > 0 ? n : 32; // KVM documents 32 when the capability is absent
    }

    public Kvm kvm() {
        return kvm;
    }

    /** KVM_CAP_NR_MEMSLOTS (per address space). */
    public int maxSlots() {
        return maxSlots;
    }

    /** KVM_CHECK_EXTENSION on the VM fd (answers for this VM, e.g. KVM_CAP_XSAVE2's size). */
    public int checkExtension(int cap) {
        return LibC.ioctl(fd, KvmH.KVM_CHECK_EXTENSION, cap, "vm, cap=" + cap);
    }

    /** KVM_ENABLE_CAP on the VM with up to four arguments. */
    public void enableCap(int cap, long... args) {
        if (args.length > KvmH.kvm_enable_cap.args_LEN) {
            throw new IllegalArgumentException("args.length=" + args.length + ", expected <= " + KvmH.kvm_enable_cap.args_LEN);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = arena.allocate(KvmH.kvm_enable_cap.SIZE, 8);
            c.set(JAVA_INT, KvmH.kvm_enable_cap.cap, cap);
            for (int i = 0; i < args.length; i++) c.set(JAVA_LONG, KvmH.kvm_enable_cap.args + 8L * i, args[i]);
            LibC.ioctl(fd, KvmH.KVM_ENABLE_CAP, c, "cap=" + cap + ", args=" + java.util.Arrays.toString(args));
        }
    }

    /** KVM_SET_TSS_ADDR: three pages in the PCI hole, needed by Intel for real-mode emulation (harmless on AMD). */
    public void setTssAddr(long gpa) {
        LibC.ioctl(fd, KvmH.KVM_SET_TSS_ADDR, gpa, "addr=0x" + Long.toHexString(gpa));
    }

    /**
     * An in-kernel local APIC for every vCPU (needed for KVM_GET_LAPIC and for HLT to wait in the kernel):
     * the split irqchip (LAPIC only, no PIC/IOAPIC, KVM_CAP_SPLIT_IRQCHIP) where KVM has it, else the full
     * KVM_CREATE_IRQCHIP. Must come before the first vCPU. Returns {@code "split"} or {@code "full"}.
     */
    public String createLocalApics() {
        if (vcpusCreated > 0) throw new IllegalStateException("the irqchip must be created before any vCPU");
        if (checkExtension(KvmH.KVM_CAP_SPLIT_IRQCHIP) > 0) {
            enableCap(KvmH.KVM_CAP_SPLIT_IRQCHIP, SPLIT_IRQCHIP_ROUTES);
            return "split";
        }
        LibC.ioctl(fd, KvmH.KVM_CREATE_IRQCHIP, 0L);
        return "full";
    }

    // ---- memory slots ---------------------------------------------------------------------------------

    /**
     * KVM_SET_USER_MEMORY_REGION: maps {@code host} (exactly {@code slot.sizeBytes()} bytes of a RAM block) at
     * {@code slot.gpa()} with {@code flags} (e.g. {@link KvmH#KVM_MEM_LOG_DIRTY_PAGES}). Validated first: size,
     * alignment, slot count, and overlap with the other slots give IllegalArgumentException naming the slot.
     */
    public void setMemorySlot(MemorySlotPlan.Slot slot, MemorySegment host, int flags) {
        checkOpen();
        if (host.byteSize() != slot.sizeBytes()) {
            throw new IllegalArgumentException(slot + ": host range is " + host.byteSize() + " bytes, expected " + slot.sizeBytes());
        }
        if (host.address() % MemorySlotPlan.PAGE_BYTES != 0) {
            throw new IllegalArgumentException(slot + ": host address 0x" + Long.toHexString(host.address()) + " not 4 KiB aligned");
        }
        if ((flags & ~(KvmH.KVM_MEM_LOG_DIRTY_PAGES | KvmH.KVM_MEM_READONLY)) != 0) {
            throw new IllegalArgumentException(slot + ": flags=0x" + Integer.toHexString(flags) + ", expected LOG_DIRTY_PAGES|READONLY");
        }
        List<MemorySlotPlan.Slot> all = new ArrayList<>();
        for (SlotBinding b : slots.values()) if (b.slot().id() != slot.id()) all.add(b.slot());
        all.add(slot);
        MemorySlotPlan.validate(all, maxSlots);
        SlotBinding old = slots.get(slot.id());
        if (old != null && (old.slot().gpa() != slot.gpa() || old.slot().sizeBytes() != slot.sizeBytes()
                || old.host().address() != host.address())) {
            // KVM only allows flag changes on a live slot; moving or resizing means delete + create.
            deleteSlot(slot.id());
        }
        region(slot.id(), flags, slot.gpa(), slot.sizeBytes(), host.address());
        slots.put(slot.id(), new SlotBinding(slot, host, flags));
    }

    /** Changes only a slot's flags (dirty logging on/off): KVM_SET_USER_MEMORY_REGION with the same range. */
    public void setSlotFlags(int slotId, int flags) {
        SlotBinding b = binding(slotId);
        region(slotId, flags, b.slot().gpa(), b.slot().sizeBytes(), b.host().address());
        slots.put(slotId, new SlotBinding(b.slot(), b.host(), flags));
    }

    /** Removes a slot (memory_size = 0). */
    public void deleteSlot(int slotId) {
        binding(slotId);
        region(slotId, 0, 0, 0, 0);
        slots.remove(slotId);
    }

    public SlotBinding binding(int slotId) {
        SlotBinding b = slots.get(slotId);
        if (b == null) throw new IllegalArgumentException("slot=" + slotId + ", expected one of " + slots.keySet());
        return b;
    }

    public List<SlotBinding> slots() {
        return List.copyOf(slots.values());
    }

    private void region(int slotId, int flags, long gpa, long size, long hostAddress) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(KvmH.kvm_userspace_memory_region.SIZE, 8);
            r.set(JAVA_INT, KvmH.kvm_userspace_memory_region.slot, slotId);
            r.set(JAVA_INT, KvmH.kvm_userspace_memory_region.flags, flags);
            r.set(JAVA_LONG, KvmH.kvm_userspace_memory_region.guest_phys_addr, gpa);
            r.set(JAVA_LONG, KvmH.kvm_userspace_memory_region.memory_size, size);
            r.set(JAVA_LONG, KvmH.kvm_userspace_memory_region.userspace_addr, hostAddress);
            LibC.ioctl(fd, KvmH.KVM_SET_USER_MEMORY_REGION, r, "slot=" + slotId + ", flags=0x" + Integer.toHexString(flags)
                    + ", gpa=0x" + Long.toHexString(gpa) + ", size=0x" + Long.toHexString(size));
        }
    }

    // ---- dirty log (bitmap) ----------------------------------------------------------------------------

    /**
     * KVM_GET_DIRTY_LOG into {@code bitmap} (one bit per 4 KiB page of the slot, little-endian u64 words,
     * {@code 8 * ceil(pages / 64)} bytes). Without manual protect KVM also clears and re-protects what it
     * returns; with it, nothing is cleared until {@link #clearDirtyLog}.
     */
    public void getDirtyLog(int slotId, MemorySegment bitmap) {
        SlotBinding b = binding(slotId);
        long need = DirtyLogMath.bitmapBytes(b.slot().pages());
        if (bitmap.byteSize() < need) throw new IllegalArgumentException("bitmap is " + bitmap.byteSize() + " bytes, slot " + slotId + " needs " + need);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment d = arena.allocate(KvmH.kvm_dirty_log.SIZE, 8);
            d.set(JAVA_INT, KvmH.kvm_dirty_log.slot, slotId);
            d.set(JAVA_LONG, KvmH.kvm_dirty_log.dirty_bitmap, bitmap.address());
            LibC.ioctl(fd, KvmH.KVM_GET_DIRTY_LOG, d, "slot=" + slotId);
        }
    }

    /**
     * KVM_CLEAR_DIRTY_LOG: re-protects the pages {@code [firstPage, firstPage + numPages)} of the slot whose bit is
     * set in {@code bitmap} (bit 0 = firstPage). firstPage must be a multiple of 64 and numPages too unless the
     * range ends at the slot's end (KVM's rule; checked here with a message).
     */
    public void clearDirtyLog(int slotId, long firstPage, long numPages, MemorySegment bitmap) {
        SlotBinding b = binding(slotId);
        DirtyLogMath.validateClearRange(slotId, b.slot().pages(), firstPage, numPages);
        if (bitmap.byteSize() < DirtyLogMath.bitmapBytes(numPages)) {
            throw new IllegalArgumentException("bitmap is " + bitmap.byteSize() + " bytes for " + numPages + " pages");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = arena.allocate(KvmH.kvm_clear_dirty_log.SIZE, 8);
            c.set(JAVA_INT, KvmH.kvm_clear_dirty_log.slot, slotId);
            c.set(JAVA_INT, KvmH.kvm_clear_dirty_log.num_pages, (int) numPages);
            c.set(JAVA_LONG, KvmH.kvm_clear_dirty_log.first_page, firstPage);
            c.set(JAVA_LONG, KvmH.kvm_clear_dirty_log.dirty_bitmap, bitmap.address());
            LibC.ioctl(fd, KvmH.KVM_CLEAR_DIRTY_LOG, c, "slot=" + slotId + ", first_page=" + firstPage + ", num_pages=" + numPages);
        }
    }

    /**
     * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with MANUAL_PROTECT_ENABLE | INITIALLY_SET (when KVM offers both):
     * GET_DIRTY_LOG stops clearing, slots that start logging report every page dirty at first. Returns the
     * mode bits enabled; UnsupportedOperationException when KVM lacks the capability.
     */
    public int enableManualDirtyLogProtect() {
        int supported = checkExtension(KvmH.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
        if ((supported & KvmH.KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) == 0) {
            throw new UnsupportedOperationException("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 not supported by this kernel");
        }
        if (dirtyRingEntries > 0) {
            throw new UnsupportedOperationException("this VM uses the dirty ring; KVM_CLEAR_DIRTY_LOG needs the bitmap log");
        }
        int mode = supported & (KvmH.KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KvmH.KVM_DIRTY_LOG_INITIALLY_SET);
        enableCap(KvmH.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, mode);
        manualProtect = true;
        return mode;
    }

    /** Switches manual protect off again (args[0] = 0); GET_DIRTY_LOG clears again. */
    public void disableManualDirtyLogProtect() {
        if (!manualProtect) return;
        enableCap(KvmH.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 0);
        manualProtect = false;
    }

    public boolean manualDirtyLogProtect() {
        return manualProtect;
    }

    // ---- dirty ring ------------------------------------------------------------------------------------

    /**
     * Enables the per-vCPU dirty ring with {@code entries} entries (power of two); must come before the first
     * vCPU. Prefers KVM_CAP_DIRTY_LOG_RING_ACQ_REL, falls back to KVM_CAP_DIRTY_LOG_RING (x86 is TSO: the same
     * acquire/release harvesting is correct for both). UnsupportedOperationException when KVM has neither.
     */
    public void enableDirtyRing(int entries) {
        if (vcpusCreated > 0) throw new IllegalStateException("the dirty ring must be enabled before any vCPU");
        int acqRelMax = checkExtension(KvmH.KVM_CAP_DIRTY_LOG_RING_ACQ_REL);
        int plainMax = checkExtension(KvmH.KVM_CAP_DIRTY_LOG_RING);
        int cap = acqRelMax > 0 ? KvmH.KVM_CAP_DIRTY_LOG_RING_ACQ_REL : KvmH.KVM_CAP_DIRTY_LOG_RING;
        long maxBytes = acqRelMax > 0 ? acqRelMax : plainMax;
        if (maxBytes <= 0) throw new UnsupportedOperationException("KVM has no dirty ring (KVM_CAP_DIRTY_LOG_RING[_ACQ_REL] = 0)");
        DirtyRingHarvester.validateEntries(entries, maxBytes);
        enableCap(cap, (long) entries * KvmH.kvm_dirty_gfn.SIZE);
        dirtyRingEntries = entries;
        dirtyRingAcqRel = acqRelMax > 0;
    }

    /** Entries per vCPU ring, 0 when the ring is off. */
    public int dirtyRingEntries() {
        return dirtyRingEntries;
    }

    public boolean dirtyRingAcqRel() {
        return dirtyRingAcqRel;
    }

    /** KVM_RESET_DIRTY_RINGS: re-protects every harvested (RESET) entry of every ring; returns how many. */
    public int resetDirtyRings() {
        return LibC.ioctl(fd, KvmH.KVM_RESET_DIRTY_RINGS, 0L);
    }

    // ---- clock -----------------------------------------------------------------------------------------

    /** KVM_GET_CLOCK: the raw {@code struct kvm_clock_data}. */
    public byte[] getClock() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = arena.allocate(KvmH.kvm_clock_data.SIZE, 8);
            LibC.ioctl(fd, KvmH.KVM_GET_CLOCK, c);
            return c.toArray(JAVA_BYTE);
        }
    }

    /**
     * KVM_SET_CLOCK from a saved {@code struct kvm_clock_data}: only {@code clock} is applied (flags cleared, as
     * QEMU does without the realtime-adjust option): the guest sees no time pass while it was stopped.
     */
    public void setClock(byte[] clockData) {
        if (clockData.length != KvmH.kvm_clock_data.SIZE) {
            throw new IllegalArgumentException("clock data is " + clockData.length + " bytes, expected " + KvmH.kvm_clock_data.SIZE);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = arena.allocate(KvmH.kvm_clock_data.SIZE, 8);
            c.copyFrom(MemorySegment.ofArray(clockData));
            c.set(JAVA_INT, KvmH.kvm_clock_data.flags, 0);
            LibC.ioctl(fd, KvmH.KVM_SET_CLOCK, c, "clock=" + c.get(JAVA_LONG, KvmH.kvm_clock_data.clock));
        }
    }

    // ---- vCPUs -----------------------------------------------------------------------------------------

    /**
     * KVM_CREATE_VCPU {@code id}, maps its kvm_run (and dirty ring when enabled), sets CPUID from
     * {@code cpuid} (a kvm_cpuid2 from {@link Kvm#supportedCpuid}, copied and patched with this vCPU's APIC id).
     */
    public Vcpu createVcpu(int id, MemorySegment cpuid) {
        checkOpen();
        int vfd;
        try {
            vfd = LibC.ioctl(fd, KvmH.KVM_CREATE_VCPU, id, "id=" + id);
        } catch (SyscallException e) {
            if (e.errno() == ErrnoH.EINVAL) {
                throw new IllegalArgumentException("vCPU id " + id + " rejected by KVM (max " + checkExtension(KvmH.KVM_CAP_MAX_VCPU_ID) + ")", e);
            }
            throw e;
        }
        vcpusCreated++;
        return new Vcpu(this, vfd, id, cpuid);
    }

    int fd() {
        return fd;
    }

    private void checkOpen() {
        if (closed.get()) throw new IllegalStateException("Vm is closed");
    }

    /** Closes the VM fd (the kernel frees the VM once its vCPU fds are closed too). */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) LibC.close(fd);
    }
}
