package io.livemig.kvm.hw;

import io.livemig.kvm.MachineState;
import io.livemig.sys.abi.KvmH;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/** State entry format, MSR encoding and the initial-state edits, byte by byte (no /dev/kvm needed). */
class KvmStateFormatTest {
    private static final java.lang.foreign.ValueLayout.OfInt U32 = JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final java.lang.foreign.ValueLayout.OfLong U64 = JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void entriesAreAVersionByteThenTheRawStruct() {
        byte[] regs = new byte[(int) KvmH.kvm_regs.SIZE];
        for (int i = 0; i < regs.length; i++) regs[i] = (byte) (i * 7);
        MachineState.Entry e = new MachineState.Entry("cpu0/regs", KvmStateFormat.wrap(regs));
        assertEquals(1, e.data()[0]);
        assertArrayEquals(regs, KvmStateFormat.unwrap(e, KvmH.kvm_regs.SIZE, 0));
        var size = assertThrows(IllegalArgumentException.class, () -> KvmStateFormat.unwrap(e, KvmH.kvm_sregs.SIZE, 0));
        assertTrue(size.getMessage().contains("'cpu0/regs': size=144 bytes, expected 312"), size.getMessage());
        byte[] v2 = e.data();
        v2[0] = 2;
        var ver = assertThrows(IllegalArgumentException.class, () -> KvmStateFormat.unwrap(new MachineState.Entry("cpu0/regs", v2), 144, 0));
        assertTrue(ver.getMessage().contains("version=2 at offset 0, expected 1"), ver.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KvmStateFormat.unwrap(new MachineState.Entry("x", new byte[0]), 0, 0));
        assertEquals("cpu3/lapic", KvmStateFormat.name(3, "lapic"));
    }

    @Test
    void msrsRoundTripAsAKvmMsrsStruct() {
        int[] idx = {0x10, 0xC0000080, VcpuStateIo.MSR_IA32_TSC_DEADLINE, 0x1B};
        long[] val = {123456789L, 0xD01L, -1L, 0xFEE00900L};
        byte[] raw = KvmStateFormat.encodeMsrs(idx, val);
        assertEquals(KvmH.kvm_msrs.SIZE + 4 * KvmH.kvm_msr_entry.SIZE, raw.length);
        MemorySegment s = MemorySegment.ofArray(raw);
        assertEquals(4, s.get(U32, KvmH.kvm_msrs.nmsrs));
        assertEquals(0xC0000080, s.get(U32, KvmH.kvm_msrs.entries + KvmH.kvm_msr_entry.SIZE + KvmH.kvm_msr_entry.index));
        assertEquals(0xD01L, s.get(U64, KvmH.kvm_msrs.entries + KvmH.kvm_msr_entry.SIZE + KvmH.kvm_msr_entry.data));
        long[][] back = KvmStateFormat.decodeMsrs("cpu0/msrs", raw);
        assertArrayEquals(new long[] {0x10, 0xC0000080L, 0x6E0, 0x1B}, back[0]);
        assertArrayEquals(val, back[1]);
        byte[] truncated = java.util.Arrays.copyOf(raw, raw.length - 3);
        var e = assertThrows(IllegalArgumentException.class, () -> KvmStateFormat.decodeMsrs("cpu0/msrs", truncated));
        assertTrue(e.getMessage().contains("nmsrs=4"), e.getMessage());
    }

    @Test
    void restoreMarksNmiAndSipiValidInVcpuEvents() {
        byte[] ev = new byte[(int) KvmH.kvm_vcpu_events.SIZE];
        MemorySegment s = MemorySegment.ofArray(ev);
        s.set(U32, KvmH.kvm_vcpu_events.flags, KvmH.KVM_VCPUEVENT_VALID_SHADOW);
        VcpuStateIo.markEventsValid(ev);
        assertEquals(KvmH.KVM_VCPUEVENT_VALID_SHADOW | KvmH.KVM_VCPUEVENT_VALID_NMI_PENDING | KvmH.KVM_VCPUEVENT_VALID_SIPI_VECTOR,
                s.get(U32, KvmH.kvm_vcpu_events.flags));
        assertEquals(20, KvmH.kvm_vcpu_events.flags, "offset from asm/kvm.h: 5 x u8 exception, 4 x u8 interrupt, 4 x u8 nmi, u32 sipi");
    }

    @Test
    void realModeStartClearsCsBaseAndCaching() {
        byte[] sregs = new byte[(int) KvmH.kvm_sregs.SIZE];
        MemorySegment s = MemorySegment.ofArray(sregs);
        // what KVM reports after reset: CS = F000, base FFFF0000; CR0 = CD | NW | ET
        s.set(U64, KvmH.kvm_sregs.cs + KvmH.kvm_segment.base, 0xFFFF0000L);
        s.set(JAVA_SHORT_UNALIGNED, KvmH.kvm_sregs.cs + KvmH.kvm_segment.selector, (short) 0xF000);
        s.set(U64, KvmH.kvm_sregs.cr0, 0x60000010L);
        InitialState.realModeAtZero(s);
        assertEquals(0, s.get(U64, KvmH.kvm_sregs.cs + KvmH.kvm_segment.base));
        assertEquals(0, s.get(JAVA_SHORT_UNALIGNED, KvmH.kvm_sregs.cs + KvmH.kvm_segment.selector));
        assertEquals(0x10L, s.get(U64, KvmH.kvm_sregs.cr0));
        byte[] regs = InitialState.regs(0x7C00);
        MemorySegment r = MemorySegment.ofArray(regs);
        assertEquals(0x7C00, r.get(U64, KvmH.kvm_regs.rip));
        assertEquals(2, r.get(U64, KvmH.kvm_regs.rflags));
        assertEquals(0, r.get(U64, KvmH.kvm_regs.rsp));
    }

    @Test
    void flatProtectedModeStart() {
        byte[] sregs = new byte[(int) KvmH.kvm_sregs.SIZE];
        MemorySegment s = MemorySegment.ofArray(sregs);
        s.set(U64, KvmH.kvm_sregs.cr0, 0x60000010L);
        InitialState.flatProtectedMode(s);
        assertEquals(0x11L, s.get(U64, KvmH.kvm_sregs.cr0));
        for (long seg : List.of(KvmH.kvm_sregs.cs, KvmH.kvm_sregs.ds, KvmH.kvm_sregs.ss)) {
            assertEquals(0xFFFFFFFF, s.get(U32, seg + KvmH.kvm_segment.limit));
            assertEquals(1, sregs[(int) (seg + KvmH.kvm_segment.present)]);
            assertEquals(1, sregs[(int) (seg + KvmH.kvm_segment.db)]);
            assertEquals(1, sregs[(int) (seg + KvmH.kvm_segment.g)]);
            assertEquals(1, sregs[(int) (seg + KvmH.kvm_segment.s)]);
        }
        assertEquals(0xB, sregs[(int) (KvmH.kvm_sregs.cs + KvmH.kvm_segment.type)]);
        assertEquals(0x08, s.get(JAVA_SHORT_UNALIGNED, KvmH.kvm_sregs.cs + KvmH.kvm_segment.selector));
        assertEquals(0x3, sregs[(int) (KvmH.kvm_sregs.ds + KvmH.kvm_segment.type)]);
    }

    @Test
    void exitNamesComeFromTheHeader() {
        assertEquals("KVM_EXIT_SHUTDOWN(8)", KvmExits.name(KvmH.KVM_EXIT_SHUTDOWN));
        assertEquals("KVM_EXIT_IO(2)", KvmExits.name(KvmH.KVM_EXIT_IO));
        assertEquals("KVM_EXIT_DIRTY_RING_FULL(31)", KvmExits.name(31));
        assertEquals("KVM_EXIT_?(999)", KvmExits.name(999));
        var e = new UnexpectedExitException(0, KvmExits.name(8), 0x7c1b, "triple fault or shutdown");
        assertEquals("vCPU 0: KVM_EXIT_SHUTDOWN(8) (triple fault or shutdown) at rip=0x7c1b", e.getMessage());
    }
}
