package io.livemig.kvm.hw;

import io.livemig.sys.Ioctl;
import io.livemig.sys.LibC;
import io.livemig.sys.SyscallException;
import io.livemig.sys.abi.KvmH;
import io.livemig.sys.abi.MmanH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One vCPU fd (rust-vmm's {@code VcpuFd}): its mapped {@code struct kvm_run}, its dirty ring mapping (when the
 * VM has one), KVM_RUN, and typed access to its state structs. Owns the fd and both mappings and releases
 * them exactly once.
 *
 * <p>Threads: {@link #run()} and the exit accessors belong to the vCPU's run-loop thread. State ioctls may be
 * made by another thread while the run loop is parked outside KVM_RUN (KVM serialises vCPU ioctls with the
 * vCPU mutex). {@link #requestImmediateExit()} may be called from any thread: it is a release store to
 * {@code kvm_run.immediate_exit}, which KVM reads at every KVM_RUN entry.
 */
public final class Vcpu implements AutoCloseable {
    private static final long PAGE_BYTES = 4096;
    private static final VarHandle RUN_BYTE = JAVA_BYTE.varHandle();
    private static final int CPUID_LEAF_FEATURES = 0x1;
    private static final int CPUID_LEAF_X2APIC_TOPOLOGY = 0xB;
    private static final int CPUID_LEAF_V2_TOPOLOGY = 0x1F;

    private final Vm vm;
    private final int fd;
    private final int id;
    private final MemorySegment run;
    private final MemorySegment ring;
    private final DirtyRingHarvester ringHarvester;
    private final AtomicBoolean closed = new AtomicBoolean();

    Vcpu(Vm vm, int fd, int id, MemorySegment cpuid) {
        this.vm = vm;
        this.fd = fd;
        this.id = id;
        MemorySegment r = null;
        MemorySegment g = null;
        try {
            r = LibC.mmap(0, vm.kvm().vcpuMmapSizeBytes(), MmanH.PROT_READ | MmanH.PROT_WRITE, MmanH.MAP_SHARED, fd, 0);
            if (vm.dirtyRingEntries() > 0) {
                g = LibC.mmap(0, (long) vm.dirtyRingEntries() * KvmH.kvm_dirty_gfn.SIZE, MmanH.PROT_READ | MmanH.PROT_WRITE,
                        MmanH.MAP_SHARED, fd, KvmH.KVM_DIRTY_LOG_PAGE_OFFSET * PAGE_BYTES);
            }
            setCpuid(cpuid);
        } catch (RuntimeException e) {
            if (g != null) LibC.munmap(g);
            if (r != null) LibC.munmap(r);
            LibC.close(fd);
            throw e;
        }
        this.run = r;
        this.ring = g;
        this.ringHarvester = g == null ? null : new DirtyRingHarvester(g, vm.dirtyRingEntries());
    }

    public int id() {
        return id;
    }

    public Vm vm() {
        return vm;
    }

    /** The dirty ring mapping, or null when the VM has no ring. */
    public MemorySegment dirtyRing() {
        return ring;
    }

    /** The reader of this vCPU's dirty ring (one per ring, so its fetch index persists), or null. */
    public DirtyRingHarvester dirtyRingHarvester() {
        return ringHarvester;
    }

    /**
     * KVM_SET_CPUID2 with a copy of {@code cpuid} whose APIC ids say this vCPU: leaf 1 EBX[31:24] and the
     * x2APIC id in EDX of leaves 0xB / 0x1F (every subleaf).
     */
    private void setCpuid(MemorySegment cpuid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = arena.allocate(cpuid.byteSize(), 8);
            c.copyFrom(cpuid);
            int nent = c.get(JAVA_INT, KvmH.kvm_cpuid2.nent);
            for (int i = 0; i < nent; i++) {
                long e = KvmH.kvm_cpuid2.entries + (long) i * KvmH.kvm_cpuid_entry2.SIZE;
                int function = c.get(JAVA_INT, e + KvmH.kvm_cpuid_entry2.function);
                if (function == CPUID_LEAF_FEATURES) {
                    int ebx = c.get(JAVA_INT, e + KvmH.kvm_cpuid_entry2.ebx);
                    c.set(JAVA_INT, e + KvmH.kvm_cpuid_entry2.ebx, (ebx & 0x00FF_FFFF) | (id << 24));
                } else if (function == CPUID_LEAF_X2APIC_TOPOLOGY || function == CPUID_LEAF_V2_TOPOLOGY) {
                    c.set(JAVA_INT, e + KvmH.kvm_cpuid_entry2.edx, id);
                }
            }
            LibC.ioctl(fd, KvmH.KVM_SET_CPUID2, c, "vcpu=" + id + ", nent=" + nent);
        }
    }

    /**
     * KVM_SET_SIGNAL_MASK: the signal mask in force while this vCPU is inside KVM_RUN (8 bytes, kernel sigset).
     *
     * @param kernelSigset bit {@code n - 1} blocks signal {@code n}
     */
    public void setSignalMask(long kernelSigset) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(KvmH.kvm_signal_mask.SIZE + 8, 8);
            m.set(JAVA_INT, KvmH.kvm_signal_mask.len, 8);
            m.set(JAVA_LONG.withByteAlignment(4), KvmH.kvm_signal_mask.sigset, kernelSigset);
            LibC.ioctl(fd, KvmH.KVM_SET_SIGNAL_MASK, m, "vcpu=" + id);
        }
    }

    // ---- running ----------------------------------------------------------------------------------------

    /** KVM_RUN: 0 after an exit to handle ({@link #exitReason()}), or {@code -errno} (EINTR after a kick). */
    public int run() {
        return LibC.ioctlOrErrno(fd, KvmH.KVM_RUN, 0L);
    }

    /** Sets {@code kvm_run.immediate_exit = 1} (release store): the next or current KVM_RUN returns EINTR. */
    public void requestImmediateExit() {
        RUN_BYTE.setRelease(run, KvmH.kvm_run.immediate_exit, (byte) 1);
    }

    /** Clears {@code kvm_run.immediate_exit} (run-loop thread only, before re-entering). */
    public void clearImmediateExit() {
        RUN_BYTE.setRelease(run, KvmH.kvm_run.immediate_exit, (byte) 0);
    }

    public boolean immediateExitRequested() {
        return (byte) RUN_BYTE.getAcquire(run, KvmH.kvm_run.immediate_exit) != 0;
    }

    /** The mapped {@code struct kvm_run} (and the data pages after it), for the exit handlers. */
    public MemorySegment runStruct() {
        return run;
    }

    public int exitReason() {
        return run.get(JAVA_INT, KvmH.kvm_run.exit_reason);
    }

    // ---- state ------------------------------------------------------------------------------------------

    /** A GET ioctl whose argument is {@code size} bytes; returns them raw. */
    public byte[] get(Ioctl get, long size) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(size, 8);
            LibC.ioctl(fd, get, s, "vcpu=" + id);
            return s.toArray(JAVA_BYTE);
        }
    }

    /** A SET ioctl with raw struct bytes. */
    public void set(Ioctl set, byte[] data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Math.max(1, data.length), 8);
            MemorySegment.copy(data, 0, s, JAVA_BYTE, 0, data.length);
            LibC.ioctl(fd, set, s, "vcpu=" + id);
        }
    }

    /** KVM_GET_REGS' rip, for error messages; -1 when it cannot be read. */
    public long ripOrMinusOne() {
        try {
            byte[] regs = get(KvmH.KVM_GET_REGS, KvmH.kvm_regs.SIZE);
            return MemorySegment.ofArray(regs).get(JAVA_LONG.withByteAlignment(1), KvmH.kvm_regs.rip);
        } catch (SyscallException e) {
            return -1;
        }
    }

    /**
     * KVM_GET_MSRS for {@code indices}: fills {@code values}; returns how many were read. KVM stops at the
     * first MSR it cannot read, so a short count names the failing index ({@code indices[count]}).
     */
    public int getMsrs(int[] indices, long[] values) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = msrs(arena, indices, null);
            int n = LibC.ioctl(fd, KvmH.KVM_GET_MSRS, m, "vcpu=" + id + ", nmsrs=" + indices.length);
            for (int i = 0; i < n; i++) {
                values[i] = m.get(JAVA_LONG, KvmH.kvm_msrs.entries + (long) i * KvmH.kvm_msr_entry.SIZE + KvmH.kvm_msr_entry.data);
            }
            return n;
        }
    }

    /** KVM_SET_MSRS; returns how many were written (KVM stops at the first it refuses). */
    public int setMsrs(int[] indices, long[] values) {
        try (Arena arena = Arena.ofConfined()) {
            return LibC.ioctl(fd, KvmH.KVM_SET_MSRS, msrs(arena, indices, values), "vcpu=" + id + ", nmsrs=" + indices.length);
        }
    }

    private static MemorySegment msrs(Arena arena, int[] indices, long[] values) {
        MemorySegment m = arena.allocate(KvmH.kvm_msrs.SIZE + (long) indices.length * KvmH.kvm_msr_entry.SIZE, 8);
        m.set(JAVA_INT, KvmH.kvm_msrs.nmsrs, indices.length);
        for (int i = 0; i < indices.length; i++) {
            long e = KvmH.kvm_msrs.entries + (long) i * KvmH.kvm_msr_entry.SIZE;
            m.set(JAVA_INT, e + KvmH.kvm_msr_entry.index, indices[i]);
            if (values != null) m.set(JAVA_LONG, e + KvmH.kvm_msr_entry.data, values[i]);
        }
        return m;
    }

    int fd() {
        return fd;
    }

    /** Unmaps kvm_run and the ring, closes the fd. Only after the run-loop thread has stopped. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        try {
            if (ring != null) LibC.munmap(ring);
            LibC.munmap(run);
        } finally {
            LibC.close(fd);
        }
    }
}
