package io.livemig.kvm.hw;

import io.livemig.sys.abi.KvmH;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * The boot vCPU's first state, edited into the {@code struct kvm_sregs} KVM_GET_SREGS returned after reset and a
 * fresh {@code struct kvm_regs} (byte arrays, so the edits are unit-tested without /dev/kvm).
 */
public final class InitialState {
    private static final java.lang.foreign.ValueLayout.OfLong U64 = JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final java.lang.foreign.ValueLayout.OfInt U32 = JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final java.lang.foreign.ValueLayout.OfShort U16 = JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** CR0 bits (Intel SDM vol. 3 2.5). */
    public static final long CR0_PE = 1L;
    public static final long CR0_NW = 1L << 29;
    public static final long CR0_CD = 1L << 30;
    /** RFLAGS bit 1 is reserved and always 1; IF stays 0. */
    public static final long RFLAGS_RESERVED = 0x2;
    /** Segment types (Intel SDM vol. 3 3.4.5.1): execute/read accessed, read/write accessed. */
    public static final int TYPE_CODE_RX_ACCESSED = 0xB;
    public static final int TYPE_DATA_RW_ACCESSED = 0x3;
    public static final int FLAT_CODE_SELECTOR = 0x08;
    public static final int FLAT_DATA_SELECTOR = 0x10;

    private InitialState() {
    }

    /**
     * Real mode with CS = 0 (base 0), as a BIOS leaves a boot sector: after reset CS has base 0xFFFF0000; the other
     * segments already have base 0. CR0.CD/NW are cleared (what firmware does) so the guest runs cached.
     */
    public static void realModeAtZero(MemorySegment sregs) {
        long cs = KvmH.kvm_sregs.cs;
        sregs.set(U64, cs + KvmH.kvm_segment.base, 0L);
        sregs.set(U16, cs + KvmH.kvm_segment.selector, (short) 0);
        long cr0 = sregs.get(U64, KvmH.kvm_sregs.cr0);
        sregs.set(U64, KvmH.kvm_sregs.cr0, cr0 & ~(CR0_CD | CR0_NW));
    }

    /**
     * Flat 32-bit protected mode without a GDT in memory: KVM loads the segment caches from these values (code
     * never reloads a segment register). CS = 0x08 execute/read, DS/ES/FS/GS/SS = 0x10 read/write, base 0,
     * limit 4 GiB, 32-bit; CR0 = PE | ET with caching enabled.
     */
    public static void flatProtectedMode(MemorySegment sregs) {
        segment(sregs, KvmH.kvm_sregs.cs, FLAT_CODE_SELECTOR, TYPE_CODE_RX_ACCESSED);
        for (long seg : new long[] {KvmH.kvm_sregs.ds, KvmH.kvm_sregs.es, KvmH.kvm_sregs.fs, KvmH.kvm_sregs.gs, KvmH.kvm_sregs.ss}) {
            segment(sregs, seg, FLAT_DATA_SELECTOR, TYPE_DATA_RW_ACCESSED);
        }
        long cr0 = sregs.get(U64, KvmH.kvm_sregs.cr0);
        sregs.set(U64, KvmH.kvm_sregs.cr0, (cr0 & ~(CR0_CD | CR0_NW)) | CR0_PE);
    }

    private static void segment(MemorySegment s, long at, int selector, int type) {
        s.set(U64, at + KvmH.kvm_segment.base, 0L);
        s.set(U32, at + KvmH.kvm_segment.limit, 0xFFFF_FFFF);
        s.set(U16, at + KvmH.kvm_segment.selector, (short) selector);
        s.set(JAVA_BYTE, at + KvmH.kvm_segment.type, (byte) type);
        s.set(JAVA_BYTE, at + KvmH.kvm_segment.present, (byte) 1);
        s.set(JAVA_BYTE, at + KvmH.kvm_segment.dpl, (byte) 0);
        s.set(JAVA_BYTE, at + KvmH.kvm_segment.db, (byte) 1);
        s.set(JAVA_BYTE, at + KvmH.kvm_segment.s, (byte) 1);
        s.set(JAVA_BYTE, at + KvmH.kvm_segment.l, (byte) 0);
        s.set(JAVA_BYTE, at + KvmH.kvm_segment.g, (byte) 1);
        s.set(JAVA_BYTE, at + KvmH.kvm_segment.avl, (byte) 0);
        s.set(JAVA_BYTE, at + KvmH.kvm_segment.unusable, (byte) 0);
    }

    /** A {@code struct kvm_regs}: all zero but rip = {@code entry} and rflags = 0x2 (interrupts off). */
    public static byte[] regs(long entry) {
        byte[] b = new byte[(int) KvmH.kvm_regs.SIZE];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(U64, KvmH.kvm_regs.rip, entry);
        s.set(U64, KvmH.kvm_regs.rflags, RFLAGS_RESERVED);
        return b;
    }
}
