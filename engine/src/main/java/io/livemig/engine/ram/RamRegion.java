package io.livemig.engine.ram;

import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A RAM block as the codec sees it: its migration name and the segment holding its bytes. The codec
 * never reaches outside {@code segment}; tests use a slice of a larger buffer with guard bytes around it.
 */
public record RamRegion(String name, MemorySegment segment) {
    public RamRegion {
        if (name.isEmpty() || name.length() > 255) {
            throw new IllegalArgumentException("block name \"" + name + "\", expected 1..255 bytes");
        }
        if (segment.byteSize() % RamRecord.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("block " + name + " size " + segment.byteSize()
                    + ", expected a multiple of " + RamRecord.PAGE_SIZE);
        }
    }

    public long sizeBytes() {
        return segment.byteSize();
    }

    public long pages() {
        return segment.byteSize() / RamRecord.PAGE_SIZE;
    }

    public static RamRegion of(RamBlock block) {
        return new RamRegion(block.name(), block.segment());
    }

    /** All blocks of {@code memory}, in its order (the order of the setup record). */
    public static List<RamRegion> of(GuestMemory memory) {
        List<RamRegion> list = new ArrayList<>();
        for (RamBlock b : memory.blocks()) list.add(of(b));
        return list;
    }
}
