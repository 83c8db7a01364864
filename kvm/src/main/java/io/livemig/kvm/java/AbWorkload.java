package io.livemig.kvm.java;

import io.livemig.kvm.AbGuest;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;

/**
 * The A-B guest (spec/ab-guest.md) as a Java state machine: 'A' to the serial port, a zero pass over byte 0 of
 * every page in {@code [1 MiB, windowEnd)}, then forever an increment pass in ascending order, 'B' after every
 * 64th pass. Like the real guest it reads the byte back from RAM before incrementing, so after a restore it
 * continues from whatever RAM holds.
 *
 * <p>Invariant between steps (that is whenever the vCPU is paused): pages {@code [windowStart, nextPage)} hold
 * v+1 and pages {@code [nextPage, windowEnd)} hold v (mod 256); {@code nextPage == windowStart} between passes.
 *
 * <p>Saved state, big-endian, {@value #STATE_BYTES} bytes:
 * <pre>
 *  0        4        6     7     8                16               24               32       36
 *  +--------+--------+-----+-----+----------------+----------------+----------------+--------+
 *  | magic  | version|phase| 0   | windowStart    | windowEnd      | nextPage (gpa) | passes |
 *  | "LMAB" |   1    |     |     | (bytes)        | (bytes)        |                | mod 64 |
 *  +--------+--------+-----+-----+----------------+----------------+----------------+--------+
 *  phase: 0 = before 'A', 1 = zero pass, 2 = increment loop
 * </pre>
 */
public final class AbWorkload implements JavaWorkload {
    static final int MAGIC = 0x4C4D4142; // "LMAB"
    static final short VERSION = 1;
    public static final int STATE_BYTES = 36;

    static final byte PHASE_START = 0, PHASE_ZERO = 1, PHASE_LOOP = 2;

    private long windowStart;
    private long windowEnd;
    // The whole guest state: three fields.
    private byte phase;
    private long nextPage;
    private int passes;

    public AbWorkload(long windowEndBytes) {
        AbGuest.validateWindowEnd(windowEndBytes, -1);
        this.windowStart = AbGuest.WINDOW_START_BYTES;
        this.windowEnd = windowEndBytes;
        this.phase = PHASE_START;
        this.nextPage = windowStart;
    }

    @Override
    public String name() {
        return "ab";
    }

    public long windowEndBytes() {
        return windowEnd;
    }

    @Override
    public boolean step(GuestAccess guest, int maxPageWrites) {
        final long page = AbGuest.PAGE_SIZE_BYTES;
        final long end = windowEnd;
        long p = nextPage;
        int budget = maxPageWrites;
        switch (phase) {
            case PHASE_START -> {
                guest.serialOut(AbGuest.START_CHAR);
                phase = PHASE_ZERO;
                nextPage = windowStart;
                return true;
            }
            case PHASE_ZERO -> {
                while (budget-- > 0) {
                    guest.writeByte(p, (byte) 0);
                    p += page;
                    if (p == end) {
                        phase = PHASE_LOOP;
                        p = windowStart;
                        break;
                    }
                }
            }
            default -> {
                while (budget-- > 0) {
                    guest.writeByte(p, (byte) (guest.readByte(p) + 1));
                    p += page;
                    if (p == end) {
                        p = windowStart;
                        if (++passes == AbGuest.PASSES_PER_PASS_CHAR) {
                            passes = 0;
                            guest.serialOut(AbGuest.PASS_CHAR);
                        }
                        break; // end the step at the pass boundary: a pause here leaves all pages equal
                    }
                }
            }
        }
        nextPage = p;
        return true;
    }

    @Override
    public byte[] saveState() {
        return ByteBuffer.allocate(STATE_BYTES)
                .putInt(MAGIC).putShort(VERSION).put(phase).put((byte) 0)
                .putLong(windowStart).putLong(windowEnd).putLong(nextPage).putInt(passes)
                .array();
    }

    @Override
    public void loadState(byte[] state) {
        if (state.length != STATE_BYTES) {
            throw new IllegalArgumentException("A-B state: length=" + state.length + ", expected " + STATE_BYTES);
        }
        ByteBuffer b = ByteBuffer.wrap(state);
        try {
            int magic = b.getInt();
            if (magic != MAGIC) throw bad("magic", 0, "0x" + Integer.toHexString(magic), "0x" + Integer.toHexString(MAGIC) + " (\"LMAB\")");
            short version = b.getShort();
            if (version != VERSION) throw bad("version", 4, version, VERSION);
            byte ph = b.get();
            if (ph < PHASE_START || ph > PHASE_LOOP) throw bad("phase", 6, ph, "0, 1 or 2");
            b.get();
            long start = b.getLong();
            if (start != AbGuest.WINDOW_START_BYTES) throw bad("windowStart", 8, "0x" + Long.toHexString(start), "0x100000");
            long end = b.getLong();
            try {
                AbGuest.validateWindowEnd(end, -1);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("A-B state: at byte offset 16: " + e.getMessage(), e);
            }
            long p = b.getLong();
            if (p < start || p >= end || p % AbGuest.PAGE_SIZE_BYTES != 0) {
                throw bad("nextPage", 24, "0x" + Long.toHexString(p), "a page in [0x" + Long.toHexString(start)
                        + ", 0x" + Long.toHexString(end) + ")");
            }
            int n = b.getInt();
            if (n < 0 || n >= AbGuest.PASSES_PER_PASS_CHAR) throw bad("passes", 32, n, "0..63");
            this.phase = ph;
            this.windowStart = start;
            this.windowEnd = end;
            this.nextPage = p;
            this.passes = n;
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("A-B state truncated", e);
        }
    }

    private static IllegalArgumentException bad(String field, int offset, Object value, Object expected) {
        return new IllegalArgumentException("A-B state: " + field + "=" + value + ", expected " + expected
                + " (byte offset " + offset + ")");
    }

    @Override
    public String position() {
        return switch (phase) {
            case PHASE_START -> "ab: before 'A'";
            case PHASE_ZERO -> "ab: zero pass at page 0x" + Long.toHexString(nextPage);
            default -> "ab: loop at page 0x" + Long.toHexString(nextPage) + ", pass " + passes + " mod 64";
        };
    }
}
