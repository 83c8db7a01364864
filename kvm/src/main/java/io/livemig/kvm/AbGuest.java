package io.livemig.kvm;

/**
 * The A-B test guest's contract (spec/ab-guest.md), shared by the KVM machine code, the Java workload and
 * {@link AbConsistencyCheck}: prints {@link #START_CHAR} to {@link #SERIAL_PORT}, zeroes byte 0 of every page
 * in {@code [WINDOW_START_BYTES, windowEnd)}, then increments those bytes forever in ascending order and prints
 * {@link #PASS_CHAR} after every {@link #PASSES_PER_PASS_CHAR}th pass.
 */
public final class AbGuest {
    /** Guest-physical address of the first page the guest writes: 1 MiB. */
    public static final long WINDOW_START_BYTES = 0x0010_0000L;
    /** Default end of the window (exclusive): 100 MiB, exactly as the spec (25,344 pages). */
    public static final long DEFAULT_WINDOW_END_BYTES = 0x0640_0000L;
    /** The guest writes byte 0 of each page of this size. */
    public static final long PAGE_SIZE_BYTES = 4096;
    /** COM1 transmit register. */
    public static final int SERIAL_PORT = 0x3F8;
    public static final byte START_CHAR = 'A';
    public static final byte PASS_CHAR = 'B';
    public static final int PASSES_PER_PASS_CHAR = 64;

    private AbGuest() {
    }

    /**
     * Validates a window end for a guest of {@code ramBytes}; IllegalArgumentException saying
     * {@code field=value, expected ...} otherwise.
     */
    public static void validateWindowEnd(long windowEndBytes, long ramBytes) {
        if (windowEndBytes <= WINDOW_START_BYTES || windowEndBytes % PAGE_SIZE_BYTES != 0) {
            throw new IllegalArgumentException("abWindowEndBytes=0x" + Long.toHexString(windowEndBytes)
                    + ", expected a multiple of 4096 above 0x" + Long.toHexString(WINDOW_START_BYTES));
        }
        if (ramBytes >= 0 && windowEndBytes > ramBytes) {
            throw new IllegalArgumentException("abWindowEndBytes=0x" + Long.toHexString(windowEndBytes)
                    + ", expected <= guest RAM size " + ramBytes + " bytes (0x" + Long.toHexString(ramBytes)
                    + "); the A-B guest needs at least " + (windowEndBytes >> 20) + " MiB of RAM");
        }
    }
}
