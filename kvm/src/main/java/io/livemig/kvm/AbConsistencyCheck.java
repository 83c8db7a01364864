package io.livemig.kvm;

import io.livemig.memory.GuestMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The A-B guest's RAM consistency rule (spec/ab-guest.md): reading byte 0 of every page in
 * {@code [1 MiB, windowEnd)} upward, every value equals the previous one except at most one place where it is
 * exactly one lower (mod 256) — the loop's position. Anything else is a bad page; a consistent image has none.
 *
 * <p>Bad pages are judged against the value the rule expects at that point (the last good value), so one
 * corrupted page is reported as that one page, not also its neighbour.
 */
public final class AbConsistencyCheck {
    /** How many bad pages a result lists (the count is always exact). */
    public static final int MAX_LISTED_BAD_PAGES = 16;
    /** How long the byte at 1 MiB must stay the same after pause (spec step 3). */
    public static final Duration STOPPED_CHECK = Duration.ofMillis(200);

    private AbConsistencyCheck() {
    }

    /** One page whose byte 0 breaks the rule. */
    public record BadPage(long gpa, int value, int expected) {
        @Override
        public String toString() {
            return "page 0x" + Long.toHexString(gpa) + " = " + value + " (expected " + expected + ")";
        }
    }

    /**
     * @param windowStartBytes first page checked (1 MiB)
     * @param windowEndBytes   end of the window (exclusive)
     * @param loopPositionGpa  the page where the value drops by one (the guest's next page), or -1 when all
     *                         pages are equal (the guest is between passes)
     * @param valueBefore      byte 0 of the first page (the "v+1" value when a position exists)
     * @param valueAfter       the value from the loop position on (= valueBefore when there is none)
     * @param badPageCount     number of pages breaking the rule
     * @param firstBadPages    the first {@link #MAX_LISTED_BAD_PAGES} of them, ascending
     * @param sequenceFailure  for {@link #stopAndCheck}: why the running/stopped precondition failed, else ""
     */
    public record Result(long windowStartBytes, long windowEndBytes, long loopPositionGpa, int valueBefore,
                         int valueAfter, long badPageCount, List<BadPage> firstBadPages, String sequenceFailure) {
        public Result {
            firstBadPages = List.copyOf(firstBadPages);
        }

        public boolean consistent() {
            return badPageCount == 0 && sequenceFailure.isEmpty();
        }

        public long pageCount() {
            return (windowEndBytes - windowStartBytes) / AbGuest.PAGE_SIZE_BYTES;
        }

        /** One line saying what passed or what failed and where. */
        public String message() {
            String window = pageCount() + " pages [0x" + Long.toHexString(windowStartBytes) + ", 0x"
                    + Long.toHexString(windowEndBytes) + ")";
            String position = loopPositionGpa < 0
                    ? "all pages = " + valueBefore + " (between passes)"
                    : "loop at page 0x" + Long.toHexString(loopPositionGpa) + " (" + valueBefore + " below it, "
                    + valueAfter + " from it)";
            if (!sequenceFailure.isEmpty()) return "A-B check FAILED: " + sequenceFailure;
            if (badPageCount == 0) return "A-B RAM consistent: " + window + ", " + position;
            return "A-B RAM INCONSISTENT: " + badPageCount + " bad page(s) in " + window + ", " + position
                    + "; first: " + firstBadPages;
        }

        @Override
        public String toString() {
            return message();
        }
    }

    /** Checks the RAM block {@code "ram"} (gpa 0) of {@code memory} over the spec's window. */
    public static Result check(GuestMemory memory) {
        return check(memory, AbGuest.DEFAULT_WINDOW_END_BYTES);
    }

    public static Result check(GuestMemory memory, long windowEndBytes) {
        return check(memory.block("ram").segment(), AbGuest.WINDOW_START_BYTES, windowEndBytes);
    }

    /** Checks byte 0 of every page in {@code [windowStartBytes, windowEndBytes)} of {@code ram} (gpa = offset). */
    public static Result check(MemorySegment ram, long windowStartBytes, long windowEndBytes) {
        long page = AbGuest.PAGE_SIZE_BYTES;
        if (windowStartBytes % page != 0 || windowEndBytes % page != 0 || windowEndBytes <= windowStartBytes
                || windowEndBytes > ram.byteSize()) {
            throw new IllegalArgumentException("window=[0x" + Long.toHexString(windowStartBytes) + ", 0x"
                    + Long.toHexString(windowEndBytes) + "), expected page-aligned, non-empty, within "
                    + ram.byteSize() + " bytes of RAM");
        }
        int first = Byte.toUnsignedInt(ram.get(ValueLayout.JAVA_BYTE, windowStartBytes));
        int expected = first;
        long position = -1;
        int after = first;
        long bad = 0;
        List<BadPage> listed = new ArrayList<>();
        for (long gpa = windowStartBytes + page; gpa < windowEndBytes; gpa += page) {
            int v = Byte.toUnsignedInt(ram.get(ValueLayout.JAVA_BYTE, gpa));
            if (v == expected) continue;
            if (position < 0 && v == ((expected - 1) & 0xFF)) {
                position = gpa;
                after = v;
                expected = v;
                continue;
            }
            bad++;
            if (listed.size() < MAX_LISTED_BAD_PAGES) listed.add(new BadPage(gpa, v, expected));
        }
        return new Result(windowStartBytes, windowEndBytes, position, first, after, bad, listed, "");
    }

    /**
     * Spec steps 2-4 against a running machine: byte 0 of the page at 1 MiB changes within {@code changeTimeout};
     * after {@link GuestMachine#pause()} it stays the same across {@link #STOPPED_CHECK}; then {@link #check}.
     * Leaves the machine paused. A failed precondition is reported in {@link Result#sequenceFailure()}.
     */
    public static Result stopAndCheck(GuestMachine machine, long windowEndBytes, Duration changeTimeout) {
        MemorySegment ram = machine.memory().block("ram").segment();
        long probe = AbGuest.WINDOW_START_BYTES;
        byte initial = readVolatile(ram, probe);
        long deadline = System.nanoTime() + changeTimeout.toNanos();
        while (readVolatile(ram, probe) == initial) {
            if (System.nanoTime() - deadline > 0) {
                return failed(windowEndBytes, "byte at 0x" + Long.toHexString(probe) + " stayed "
                        + Byte.toUnsignedInt(initial) + " for " + changeTimeout.toMillis()
                        + " ms: the guest is not running (machine " + machine.runState()
                        + machine.failure().map(f -> ", " + f.getMessage()).orElse("") + ")");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        machine.pause();
        byte stopped = readVolatile(ram, probe);
        LockSupport.parkNanos(STOPPED_CHECK.toNanos());
        byte later = readVolatile(ram, probe);
        if (later != stopped) {
            return failed(windowEndBytes, "byte at 0x" + Long.toHexString(probe) + " changed from "
                    + Byte.toUnsignedInt(stopped) + " to " + Byte.toUnsignedInt(later) + " within "
                    + STOPPED_CHECK.toMillis() + " ms after pause(): the vCPU did not stop");
        }
        return check(ram, AbGuest.WINDOW_START_BYTES, windowEndBytes);
    }

    private static byte readVolatile(MemorySegment ram, long offset) {
        return (byte) ValueLayout.JAVA_BYTE.varHandle().getVolatile(ram, offset);
    }

    private static Result failed(long windowEndBytes, String why) {
        return new Result(AbGuest.WINDOW_START_BYTES, windowEndBytes, -1, 0, 0, 0, List.of(), why);
    }
}
