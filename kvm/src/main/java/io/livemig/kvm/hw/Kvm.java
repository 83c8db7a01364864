package io.livemig.kvm.hw;

import io.livemig.sys.HostCapabilities;
import io.livemig.sys.LibC;
import io.livemig.sys.SyscallException;
import io.livemig.sys.abi.ErrnoH;
import io.livemig.sys.abi.KvmH;
import io.livemig.sys.abi.MmanH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The open {@code /dev/kvm} (rust-vmm's {@code Kvm}): API version, capability queries, the host's supported
 * CPUID and MSR list, and the factory of {@link Vm}s. Owns its fd and closes it exactly once; the VMs it
 * created keep their own fds and stay usable (the kernel holds a reference) but are closed by their owner.
 */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";
    /** Initial entry count for KVM_GET_SUPPORTED_CPUID / KVM_GET_MSR_INDEX_LIST (grown on E2BIG). */
    private static final int FIRST_GUESS_ENTRIES = 128;
    private static final int MAX_ENTRIES = 1 << 16;

    private final int fd;
    private final int apiVersion;
    private final int vcpuMmapSizeBytes;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Kvm(int fd) {
        this.fd = fd;
        try {
            this.apiVersion = LibC.ioctl(fd, KvmH.KVM_GET_API_VERSION, 0L);
            if (apiVersion != KvmH.KVM_API_VERSION) {
                throw new IllegalStateException("KVM_GET_API_VERSION=" + apiVersion + ", expected " + KvmH.KVM_API_VERSION);
            }
            requireCap(KvmH.KVM_CAP_USER_MEMORY, "KVM_SET_USER_MEMORY_REGION");
            requireCap(KvmH.KVM_CAP_IMMEDIATE_EXIT, "kvm_run.immediate_exit (used to pause vCPUs)");
            this.vcpuMmapSizeBytes = LibC.ioctl(fd, KvmH.KVM_GET_VCPU_MMAP_SIZE, 0L);
            if (vcpuMmapSizeBytes < KvmH.kvm_run.SIZE) {
                throw new IllegalStateException("KVM_GET_VCPU_MMAP_SIZE=" + vcpuMmapSizeBytes + ", expected >= " + KvmH.kvm_run.SIZE);
            }
        } catch (RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    /**
     * Opens /dev/kvm; UnsupportedOperationException with {@link HostCapabilities#kvmUnavailable()}'s reason
     * when this host has none.
     */
    public static Kvm open() {
        var why = HostCapabilities.kvmUnavailable();
        if (why.isPresent()) throw new UnsupportedOperationException(why.get());
        return new Kvm(LibC.open(DEVICE, MmanH.O_RDWR | MmanH.O_CLOEXEC, 0));
    }

    public int apiVersion() {
        return apiVersion;
    }

    /** Bytes to mmap from a vCPU fd (kvm_run plus the PIO/coalesced-MMIO pages). */
    public int vcpuMmapSizeBytes() {
        return vcpuMmapSizeBytes;
    }

    /** {@code KVM_CHECK_EXTENSION} on /dev/kvm: 0 when absent, else the capability's value (often 1). */
    public int checkExtension(int cap) {
        return LibC.ioctl(fd, KvmH.KVM_CHECK_EXTENSION, cap, "cap=" + cap);
    }

    private void requireCap(int cap, String what) {
        if (checkExtension(cap) <= 0) {
            throw new UnsupportedOperationException("KVM lacks capability " + cap + " needed for " + what);
        }
    }

    /**
     * KVM_GET_SUPPORTED_CPUID as a {@code struct kvm_cpuid2} (header plus {@code nent} entries) allocated in
     * {@code arena}, ready for KVM_SET_CPUID2 after per-vCPU edits.
     */
    public MemorySegment supportedCpuid(Arena arena) {
        for (int n = FIRST_GUESS_ENTRIES; n <= MAX_ENTRIES; n *= 2) {
            MemorySegment c = arena.allocate(KvmH.kvm_cpuid2.SIZE + n * KvmH.kvm_cpuid_entry2.SIZE, 8);
            c.set(JAVA_INT, KvmH.kvm_cpuid2.nent, n);
            int r = LibC.ioctlOrErrno(fd, KvmH.KVM_GET_SUPPORTED_CPUID, c);
            if (r == -ErrnoH.E2BIG) continue;
            if (r < 0) throw new SyscallException("ioctl(KVM_GET_SUPPORTED_CPUID, nent=" + n + ")", -r);
            return c;
        }
        throw new IllegalStateException("KVM_GET_SUPPORTED_CPUID still E2BIG with " + MAX_ENTRIES + " entries");
    }

    /** KVM_GET_MSR_INDEX_LIST: the MSRs KVM can save and restore for a vCPU (some may still fail per CPU model). */
    public int[] msrIndexList() {
        try (Arena arena = Arena.ofConfined()) {
            for (int n = FIRST_GUESS_ENTRIES; n <= MAX_ENTRIES; n *= 2) {
                MemorySegment l = arena.allocate(KvmH.kvm_msr_list.SIZE + 4L * n, 8);
                l.set(JAVA_INT, KvmH.kvm_msr_list.nmsrs, n);
                int r = LibC.ioctlOrErrno(fd, KvmH.KVM_GET_MSR_INDEX_LIST, l);
                if (r == -ErrnoH.E2BIG) continue;
                if (r < 0) throw new SyscallException("ioctl(KVM_GET_MSR_INDEX_LIST, nmsrs=" + n + ")", -r);
                int count = l.get(JAVA_INT, KvmH.kvm_msr_list.nmsrs);
                int[] out = new int[count];
                for (int i = 0; i < count; i++) out[i] = l.get(JAVA_INT, KvmH.kvm_msr_list.indices + 4L * i);
                return out;
            }
        }
        throw new IllegalStateException("KVM_GET_MSR_INDEX_LIST still E2BIG with " + MAX_ENTRIES + " entries");
    }

    /** A new VM (KVM_CREATE_VM, default machine type), owned by the caller. */
    public Vm createVm() {
        if (closed.get()) throw new IllegalStateException("Kvm is closed");
        int vmFd = LibC.ioctl(fd, KvmH.KVM_CREATE_VM, 0L, "type=0");
        return new Vm(this, vmFd);
    }

    int fd() {
        return fd;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) LibC.close(fd);
    }
}
