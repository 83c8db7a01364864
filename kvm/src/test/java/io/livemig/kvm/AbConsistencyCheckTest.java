package io.livemig.kvm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.*;

class AbConsistencyCheckTest {
    private static final long PAGE = AbGuest.PAGE_SIZE_BYTES;
    private static final long START = AbGuest.WINDOW_START_BYTES;
    private static final int PAGES = 256;
    private static final long END = START + PAGES * PAGE;

    private Arena arena;
    private MemorySegment ram;

    @BeforeEach
    void allocate() {
        arena = Arena.ofConfined();
        ram = arena.allocate(END, PAGE);
        ram.fill((byte) 0x5A); // bytes other than byte 0 of each page must not matter
    }

    @AfterEach
    void free() {
        arena.close();
    }

    private void fill(int value) {
        for (long gpa = START; gpa < END; gpa += PAGE) put(gpa, value);
    }

    private void put(long gpa, int value) {
        ram.set(ValueLayout.JAVA_BYTE, gpa, (byte) value);
    }

    private static long page(int i) {
        return START + i * PAGE;
    }

    private AbConsistencyCheck.Result check() {
        return AbConsistencyCheck.check(ram, START, END);
    }

    @Test
    void allEqualIsConsistentBetweenPasses() {
        fill(17);
        AbConsistencyCheck.Result r = check();
        assertTrue(r.consistent(), r.message());
        assertEquals(-1, r.loopPositionGpa());
        assertEquals(17, r.valueBefore());
        assertEquals(PAGES, r.pageCount());
        assertTrue(r.message().contains("between passes"), r.message());
    }

    @Test
    void positionInTheMiddleIsConsistent() {
        fill(7);
        for (int i = 0; i < 100; i++) put(page(i), 8);
        AbConsistencyCheck.Result r = check();
        assertTrue(r.consistent(), r.message());
        assertEquals(page(100), r.loopPositionGpa());
        assertEquals(8, r.valueBefore());
        assertEquals(7, r.valueAfter());
        assertTrue(r.message().contains("0x" + Long.toHexString(page(100))), r.message());
    }

    @Test
    void wrapFrom255To0IsConsistent() {
        fill(255);
        for (int i = 0; i < 3; i++) put(page(i), 0);
        AbConsistencyCheck.Result r = check();
        assertTrue(r.consistent(), r.message());
        assertEquals(page(3), r.loopPositionGpa());
        assertEquals(0, r.valueBefore());
        assertEquals(255, r.valueAfter());
    }

    @Test
    void positionAtTheLastPageIsConsistent() {
        fill(1);
        put(page(PAGES - 1), 0);
        assertTrue(check().consistent(), check().message());
    }

    @Test
    void oneBadPageFailsNamingThatPageOnly() {
        fill(9);
        for (int i = 0; i < 40; i++) put(page(i), 10);
        put(page(200), 42);
        AbConsistencyCheck.Result r = check();
        assertFalse(r.consistent());
        assertEquals(1, r.badPageCount(), r.message());
        assertEquals(new AbConsistencyCheck.BadPage(page(200), 42, 9), r.firstBadPages().getFirst());
        assertTrue(r.message().contains("INCONSISTENT") && r.message().contains("0x" + Long.toHexString(page(200))), r.message());
    }

    @Test
    void aPageOneHigherIsBad() {
        fill(3);
        put(page(50), 4);
        AbConsistencyCheck.Result r = check();
        assertFalse(r.consistent());
        assertEquals(page(50), r.firstBadPages().getFirst().gpa());
    }

    @Test
    void twoOneLowerPlacesFail() {
        fill(5);
        for (int i = 0; i < 60; i++) put(page(i), 7);
        for (int i = 60; i < 120; i++) put(page(i), 6);
        AbConsistencyCheck.Result r = check();
        assertFalse(r.consistent(), r.message());
        assertEquals(page(60), r.loopPositionGpa());
        assertEquals(page(120), r.firstBadPages().getFirst().gpa(), r.message());
        assertEquals(PAGES - 120, r.badPageCount());
        assertTrue(r.firstBadPages().size() <= AbConsistencyCheck.MAX_LISTED_BAD_PAGES);
    }

    @Test
    void firstPageWrongIsReported() {
        fill(0);
        put(page(0), 200); // everything after looks "bad" against it: still inconsistent
        assertFalse(check().consistent());
    }

    @Test
    void rejectsAWindowOutsideRam() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AbConsistencyCheck.check(ram, START, END + PAGE));
        assertTrue(e.getMessage().contains("window="), e.getMessage());
    }
}
