package io.livemig.kvm.hw;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Slot layout and validation: bad input gives errors naming the slot and field, without /dev/kvm. */
class MemorySlotPlanTest {
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    private static MemorySlotPlan.Slot slot(int id, long gpa, long size) {
        return new MemorySlotPlan.Slot(id, gpa, size, "b" + id, 0, 4096);
    }

    @Test
    void ramStartsAtZeroAndSplitsAroundThePciHole() {
        MemorySlotPlan p = MemorySlotPlan.pcLayout(List.of(new MemorySlotPlan.Block("ram", 4 * GIB, 4096)), 509);
        assertEquals(2, p.slots().size());
        MemorySlotPlan.Slot low = p.slots().get(0);
        MemorySlotPlan.Slot high = p.slots().get(1);
        assertEquals(0, low.gpa());
        assertEquals(3 * GIB, low.sizeBytes());
        assertEquals(4 * GIB, high.gpa());
        assertEquals(GIB, high.sizeBytes());
        assertEquals(3 * GIB, high.blockOffset());
        assertEquals(3 * GIB / 4096, high.firstBlockPage());
        assertSame(high, p.slotAt(4 * GIB + 5));
        assertNull(p.slotAt(3 * GIB + 5));
        assertEquals(5 * GIB, p.endGpa());
    }

    @Test
    void blocksFollowEachOtherAlignedToTheirPageSize() {
        MemorySlotPlan p = MemorySlotPlan.pcLayout(List.of(
                new MemorySlotPlan.Block("ram", 129 * MIB - 4096 * 3, 4096),
                new MemorySlotPlan.Block("huge", 64 * MIB, 2 * MIB)), 509);
        assertEquals(2, p.slots().size());
        assertEquals(130 * MIB, p.slots().get(1).gpa(), "2 MiB block aligned up to 2 MiB");
        assertEquals(List.of(p.slots().get(1)), p.slotsOf("huge"));
    }

    @Test
    void overlappingSlotsAreRejectedByName() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new MemorySlotPlan(List.of(slot(0, 0, 16 * MIB), slot(1, 8 * MIB, 16 * MIB)), 32));
        assertTrue(e.getMessage().contains("memory slots overlap") && e.getMessage().contains("slot 0") && e.getMessage().contains("slot 1"),
                e.getMessage());
    }

    @Test
    void misalignedSizesAndAddressesAreRejected() {
        var size = assertThrows(IllegalArgumentException.class, () -> new MemorySlotPlan(List.of(slot(0, 0, 4096 + 100)), 32));
        assertTrue(size.getMessage().contains("sizeBytes=0x1064"), size.getMessage());
        var gpa = assertThrows(IllegalArgumentException.class, () -> new MemorySlotPlan(List.of(slot(0, 0x800, 4096)), 32));
        assertTrue(gpa.getMessage().contains("gpa=0x800"), gpa.getMessage());
        var huge = assertThrows(IllegalArgumentException.class, () -> new MemorySlotPlan(
                List.of(new MemorySlotPlan.Slot(0, MIB, 2 * MIB, "h", 0, 2 * MIB)), 32));
        assertTrue(huge.getMessage().contains("multiple of 0x200000"), huge.getMessage());
        var zero = assertThrows(IllegalArgumentException.class, () -> new MemorySlotPlan(List.of(slot(0, 0, 0)), 32));
        assertTrue(zero.getMessage().contains("sizeBytes=0"), zero.getMessage());
    }

    @Test
    void tooManySlotsAndBadIdsAreRejected() {
        var many = assertThrows(IllegalArgumentException.class, () -> new MemorySlotPlan(
                List.of(slot(0, 0, 4096), slot(1, 8192, 4096), slot(2, 16384, 4096)), 2));
        assertTrue(many.getMessage().contains("too many memory slots: 3, KVM allows 2"), many.getMessage());
        var dup = assertThrows(IllegalArgumentException.class, () -> new MemorySlotPlan(List.of(slot(1, 0, 4096), slot(1, 8192, 4096)), 8));
        assertTrue(dup.getMessage().contains("used twice"), dup.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MemorySlotPlan(List.of(slot(8, 0, 4096)), 8));
    }

    @Test
    void theTssPagesStayFree() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new MemorySlotPlan(List.of(slot(0, MemorySlotPlan.TSS_GPA - 4096, 8192)), 8));
        assertTrue(e.getMessage().contains("TSS"), e.getMessage());
    }

    @Test
    void aSlotAtTheScratchAddressFitsBesideRam() {
        MemorySlotPlan p = MemorySlotPlan.pcLayout(List.of(new MemorySlotPlan.Block("ram", 256 * MIB, 4096)), 32);
        new MemorySlotPlan(List.of(p.slots().get(0), new MemorySlotPlan.Slot(1, ScriptedGuestCode.SCRATCH_GPA,
                ScriptedGuestCode.SCRATCH_BYTES, "(scratch)", 0, 4096)), 32);
    }
}
