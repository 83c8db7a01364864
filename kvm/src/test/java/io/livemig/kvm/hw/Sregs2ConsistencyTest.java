package io.livemig.kvm.hw;

import io.livemig.sys.abi.KvmH;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The source-side check that keeps a state KVM_SET_SREGS2 would refuse from leaving the source. */
class Sregs2ConsistencyTest {
    private static byte[] sregs2(long cr0, long cr4, long efer, boolean csL) {
        ByteBuffer b = ByteBuffer.allocate((int) KvmH.kvm_sregs2.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong((int) KvmH.kvm_sregs2.cr0, cr0);
        b.putLong((int) KvmH.kvm_sregs2.cr4, cr4);
        b.putLong((int) KvmH.kvm_sregs2.efer, efer);
        b.putLong((int) KvmH.kvm_sregs2.apic_base, 0xFEE00900L);
        b.put((int) (KvmH.kvm_sregs2.cs + KvmH.kvm_segment.l), (byte) (csL ? 1 : 0));
        return b.array();
    }

    @Test
    void theAbGuestsProtectedModeAndA64BitKernelPass() {
        assertNull(VcpuStateIo.sregs2Inconsistency(sregs2(0x11, 0, 0, false)), "32-bit protected mode, no paging");
        assertNull(VcpuStateIo.sregs2Inconsistency(sregs2(0x80050033L, 0x3706F0, 0xD01, true)), "x86-64 Linux");
        assertNull(VcpuStateIo.sregs2Inconsistency(sregs2(0x60000010, 0, 0, false)), "reset state (CD|NW|ET)");
    }

    @Test
    void theStateSeenUnderEmulationIsRefusedSayingWhy() {
        // Observed in the nested-KVM VM: host CR0/CS with the guest's CR4 = EFER = 0.
        String why = VcpuStateIo.sregs2Inconsistency(sregs2(0x80050033L, 0, 0, true));
        assertEquals("a 64-bit code segment (CS.L=1) outside long mode", why);
        assertTrue(VcpuStateIo.sregs2Inconsistency(sregs2(0x80000000L, 0, 0, false)).contains("PG without CR0.PE"));
        assertTrue(VcpuStateIo.sregs2Inconsistency(sregs2(0x80000001L, 0, 0x100, false)).contains("CR4.PAE"));
        assertTrue(VcpuStateIo.sregs2Inconsistency(sregs2(0x20000001L, 0, 0, false)).contains("NW without"));
    }
}
