package io.livemig.kvm.hw;

import io.livemig.kvm.MachineState;
import io.livemig.sys.abi.KvmH;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * The byte format of the KVM machine's {@link MachineState} entries, described once.
 *
 * <pre>
 * every entry:   +0  u8   format version ({@value #VERSION})
 *                +1  ...  the kernel struct exactly as the GET ioctl returned it (x86-64, little-endian)
 *
 * entry name            struct (bytes after the version byte)
 * cpuN/sregs2           struct kvm_sregs2 (320)        KVM_GET_SREGS2, when KVM_CAP_SREGS2
 * cpuN/sregs            struct kvm_sregs (312)         KVM_GET_SREGS, otherwise
 * cpuN/regs             struct kvm_regs (144)
 * cpuN/xcrs             struct kvm_xcrs (392)          when KVM_CAP_XCRS
 * cpuN/xsave            struct kvm_xsave (>= 4096)     KVM_GET_XSAVE2 (KVM_CAP_XSAVE2 bytes) or KVM_GET_XSAVE
 * cpuN/fpu              struct kvm_fpu (416)           only when KVM has no XSAVE
 * cpuN/msrs             struct kvm_msrs + nmsrs x kvm_msr_entry (8 + 16n), every MSR of
 *                       KVM_GET_MSR_INDEX_LIST that KVM_GET_MSRS reads for this vCPU
 * cpuN/mp_state         struct kvm_mp_state (4)
 * cpuN/lapic            struct kvm_lapic_state (1024)
 * cpuN/debugregs        struct kvm_debugregs (128)     when KVM_CAP_DEBUGREGS
 * cpuN/events           struct kvm_vcpu_events (64)
 * clock                 struct kvm_clock_data (48)     KVM_GET_CLOCK
 * devices/port92        u8 last value written to port 0x92
 * </pre>
 *
 * The entries are listed in restore order (see {@link VcpuStateIo} for why this order).
 */
public final class KvmStateFormat {
    public static final byte VERSION = 1;
    public static final String ACCELERATOR = "kvm";
    public static final String CLOCK = "clock";
    public static final String PORT92 = "devices/port92";

    /** Per-vCPU parts, in restore order. */
    public static final List<String> VCPU_PARTS =
            List.of("sregs2", "sregs", "regs", "xcrs", "xsave", "fpu", "msrs", "mp_state", "lapic", "debugregs", "events");

    private KvmStateFormat() {
    }

    public static String name(int cpu, String part) {
        return "cpu" + cpu + "/" + part;
    }

    /** Version byte + raw struct. */
    public static byte[] wrap(byte[] raw) {
        byte[] b = new byte[raw.length + 1];
        b[0] = VERSION;
        System.arraycopy(raw, 0, b, 1, raw.length);
        return b;
    }

    /**
     * The raw struct of an entry; IllegalArgumentException naming the entry when the version or size is wrong.
     *
     * @param expectedSize exact struct size, or -1 to accept any size >= {@code minSize}
     */
    public static byte[] unwrap(MachineState.Entry e, long expectedSize, long minSize) {
        byte[] d = e.data();
        if (d.length < 1) throw new IllegalArgumentException("state entry '" + e.name() + "' is empty, expected a version byte");
        if (d[0] != VERSION) {
            throw new IllegalArgumentException("state entry '" + e.name() + "': version=" + d[0] + " at offset 0, expected " + VERSION);
        }
        long size = d.length - 1;
        if (expectedSize >= 0 && size != expectedSize) {
            throw new IllegalArgumentException("state entry '" + e.name() + "': size=" + size + " bytes, expected " + expectedSize);
        }
        if (size < minSize) {
            throw new IllegalArgumentException("state entry '" + e.name() + "': size=" + size + " bytes, expected >= " + minSize);
        }
        byte[] raw = new byte[d.length - 1];
        System.arraycopy(d, 1, raw, 0, raw.length);
        return raw;
    }

    /** A {@code struct kvm_msrs} with these MSRs (the raw part of a {@code cpuN/msrs} entry). */
    public static byte[] encodeMsrs(int[] indices, long[] values) {
        if (indices.length != values.length) throw new IllegalArgumentException(indices.length + " indices, " + values.length + " values");
        byte[] b = new byte[(int) (KvmH.kvm_msrs.SIZE + indices.length * KvmH.kvm_msr_entry.SIZE)];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(le32(), KvmH.kvm_msrs.nmsrs, indices.length);
        for (int i = 0; i < indices.length; i++) {
            long e = KvmH.kvm_msrs.entries + i * KvmH.kvm_msr_entry.SIZE;
            s.set(le32(), e + KvmH.kvm_msr_entry.index, indices[i]);
            s.set(le64(), e + KvmH.kvm_msr_entry.data, values[i]);
        }
        return b;
    }

    /** MSR index/value pairs of a {@code struct kvm_msrs}: {@code [0]} indices as longs, {@code [1]} values. */
    public static long[][] decodeMsrs(String entryName, byte[] raw) {
        if (raw.length < KvmH.kvm_msrs.SIZE) {
            throw new IllegalArgumentException("state entry '" + entryName + "': " + raw.length + " bytes, expected >= " + KvmH.kvm_msrs.SIZE);
        }
        MemorySegment s = MemorySegment.ofArray(raw);
        int n = s.get(le32(), KvmH.kvm_msrs.nmsrs);
        long expect = KvmH.kvm_msrs.SIZE + (long) n * KvmH.kvm_msr_entry.SIZE;
        if (n < 0 || raw.length != expect) {
            throw new IllegalArgumentException("state entry '" + entryName + "': nmsrs=" + n + " at offset 1, expected " + ((raw.length - KvmH.kvm_msrs.SIZE) / KvmH.kvm_msr_entry.SIZE)
                    + " for " + raw.length + " bytes");
        }
        long[][] r = new long[2][n];
        for (int i = 0; i < n; i++) {
            long e = KvmH.kvm_msrs.entries + i * KvmH.kvm_msr_entry.SIZE;
            r[0][i] = Integer.toUnsignedLong(s.get(le32(), e + KvmH.kvm_msr_entry.index));
            r[1][i] = s.get(le64(), e + KvmH.kvm_msr_entry.data);
        }
        return r;
    }

    private static java.lang.foreign.ValueLayout.OfInt le32() {
        return JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    }

    private static java.lang.foreign.ValueLayout.OfLong le64() {
        return JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    }
}
