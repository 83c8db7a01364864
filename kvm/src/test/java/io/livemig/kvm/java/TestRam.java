package io.livemig.kvm.java;

import io.livemig.memory.GuestMemory;

import java.lang.foreign.MemorySegment;

/** Guest RAM for tests: one anonymous block named "ram". */
final class TestRam {
    static final long MIB = 1L << 20;
    static final long DEFAULT_BYTES = 128 * MIB;

    private TestRam() {
    }

    static GuestMemory create(long bytes) {
        return GuestMemory.builder().anonymous("ram", bytes).build();
    }

    static GuestMemory create() {
        return create(DEFAULT_BYTES);
    }

    static MemorySegment ram(GuestMemory m) {
        return m.block("ram").segment();
    }
}
