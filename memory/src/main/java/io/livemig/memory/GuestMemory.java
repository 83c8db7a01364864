package io.livemig.memory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A guest's RAM: named {@link RamBlock}s in the order they were declared (the order the migration stream
 * lists them). Owns its blocks: {@link #close()} unmaps every block exactly once.
 *
 * <pre>{@code
 * try (GuestMemory mem = GuestMemory.builder().anonymous("ram", 256 << 20).build()) {
 *     MemorySegment ram = mem.block("ram").segment();
 * }
 * }</pre>
 *
 * The builder checks each block as it is declared (name, size, page size) and {@link Builder#build()}
 * checks the host (huge pages reserved, hugetlbfs mounts) before anything is mapped.
 */
public final class GuestMemory implements AutoCloseable {
    private final Map<String, RamBlock> blocks;
    private final List<RamBlock> blockList;
    private final long totalBytes;

    private GuestMemory(List<RamBlock> blocks) {
        Map<String, RamBlock> byName = new LinkedHashMap<>();
        long total = 0;
        for (RamBlock b : blocks) {
            byName.put(b.name(), b);
            total += b.sizeBytes();
        }
        this.blocks = Collections.unmodifiableMap(byName);
        this.blockList = List.copyOf(blocks);
        this.totalBytes = total;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The blocks in declaration order. */
    public List<RamBlock> blocks() {
        return blockList;
    }

    /**
     * The block named {@code name}.
     *
     * @throws IllegalArgumentException naming the known blocks when there is none by that name
     */
    public RamBlock block(String name) {
        RamBlock b = blocks.get(name);
        if (b == null) {
            throw new IllegalArgumentException("no RAM block named '" + name + "'; blocks are " + blocks.keySet());
        }
        return b;
    }

    /** Whether a block named {@code name} exists. */
    public boolean hasBlock(String name) {
        return blocks.containsKey(name);
    }

    /** Sum of all blocks' sizes in bytes. */
    public long totalBytes() {
        return totalBytes;
    }

    /**
     * Closes every block (last declared first). Each block closes exactly once, so calling this again
     * does nothing, except retry a block whose close failed because a native call still held it. If a
     * block fails to close, the others are still closed and the first failure is thrown with the rest
     * suppressed.
     */
    @Override
    public void close() {
        closeAll(blockList);
    }

    static void closeAll(List<RamBlock> blocks) {
        RuntimeException failure = null;
        for (int i = blocks.size() - 1; i >= 0; i--) {
            try {
                blocks.get(i).close();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }

    @Override
    public String toString() {
        return "GuestMemory" + blockList;
    }

    /** Declares blocks; each call validates its arguments at once, {@link #build()} maps them. */
    public static final class Builder {
        /** QEMU's RAMBlock idstr travels as a u8-length-prefixed string. */
        static final int MAX_NAME_BYTES = 255;
        static final long HUGE_2MB = 2L << 20;
        static final long HUGE_1GB = 1L << 30;

        private final List<BlockSpec> specs = new ArrayList<>();

        private Builder() {
        }

        /** Private anonymous memory ({@code MAP_NORESERVE}): pages are allocated on first touch. */
        public Builder anonymous(String name, long sizeBytes) {
            return anonymous(name, sizeBytes, false);
        }

        /**
         * Private anonymous memory; with {@code transparentHugePages} the range gets
         * {@code MADV_HUGEPAGE} (THP is in madvise mode on typical hosts), so the kernel backs it with
         * 2 MiB pages where it can. {@link RamBlock#pageSizeBytes()} stays 4096: THP is not a guarantee.
         */
        public Builder anonymous(String name, long sizeBytes, boolean transparentHugePages) {
            return add(new BlockSpec(name, BlockSpec.Kind.ANONYMOUS, sizeBytes, RamBlock.TARGET_PAGE_SIZE, null,
                    transparentHugePages));
        }

        /** Shared memory of a {@code memfd_create} file; {@link RamBlock#fd()} can be passed to another process. */
        public Builder memfd(String name, long sizeBytes) {
            return add(new BlockSpec(name, BlockSpec.Kind.MEMFD, sizeBytes, RamBlock.TARGET_PAGE_SIZE, null, false));
        }

        /**
         * Anonymous huge pages ({@code MAP_HUGETLB}) of {@code pageSizeBytes} (2 MiB or 1 GiB) from the
         * host's reserved pool. {@link #build()} fails with {@link HugePagesUnavailableException}, naming
         * the sysctl and the page count, when too few are reserved.
         */
        public Builder hugetlb(String name, long sizeBytes, long pageSizeBytes) {
            if (pageSizeBytes != HUGE_2MB && pageSizeBytes != HUGE_1GB) {
                throw new IllegalArgumentException("RAM block '" + name + "': pageSizeBytes=" + pageSizeBytes
                        + ", expected " + HUGE_2MB + " (2 MiB) or " + HUGE_1GB + " (1 GiB)");
            }
            return add(new BlockSpec(name, BlockSpec.Kind.HUGETLB, sizeBytes, pageSizeBytes, null, false));
        }

        /**
         * Huge pages from a hugetlbfs mount: a new file in {@code dir}, unlinked once opened (as QEMU's
         * {@code -mem-path DIR} does). The page size is the mount's.
         */
        public Builder hugetlbfsFile(String name, long sizeBytes, Path dir) {
            Objects.requireNonNull(dir, "dir");
            return add(new BlockSpec(name, BlockSpec.Kind.HUGETLBFS_FILE, sizeBytes, RamBlock.TARGET_PAGE_SIZE, dir,
                    false));
        }

        /**
         * Shared mapping of the regular file {@code path}, created if missing and extended to
         * {@code sizeBytes} if shorter; contents persist. A file on a hugetlbfs mount becomes a
         * {@link Backing#HUGETLB} block with the mount's page size.
         */
        public Builder file(String name, long sizeBytes, Path path) {
            Objects.requireNonNull(path, "path");
            return add(new BlockSpec(name, BlockSpec.Kind.FILE, sizeBytes, RamBlock.TARGET_PAGE_SIZE, path, false));
        }

        /**
         * Checks the host (huge page pools, hugetlbfs mounts), then maps every block. If any block fails,
         * those already mapped are unmapped before the exception propagates.
         *
         * @throws HugePagesUnavailableException when the huge page pools are too small
         * @throws IllegalArgumentException for a configuration the host cannot back (e.g. a hugetlbfs
         *         directory that is not on hugetlbfs, or a size that is not a multiple of its page size)
         * @throws io.livemig.sys.SyscallException when a system call fails
         */
        public GuestMemory build() {
            if (specs.isEmpty()) throw new IllegalArgumentException("no RAM blocks declared, expected at least one");
            return new GuestMemory(Backends.mapAll(List.copyOf(specs)));
        }

        private Builder add(BlockSpec spec) {
            String name = spec.name();
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("RAM block name is empty, expected 1.." + MAX_NAME_BYTES + " bytes");
            }
            int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
            if (nameBytes > MAX_NAME_BYTES) {
                throw new IllegalArgumentException("RAM block name '" + name + "' is " + nameBytes + " bytes, expected 1.."
                        + MAX_NAME_BYTES);
            }
            for (BlockSpec s : specs) {
                if (s.name().equals(name)) {
                    throw new IllegalArgumentException("duplicate RAM block name '" + name + "'; declared so far: "
                            + specs.stream().map(BlockSpec::name).toList());
                }
            }
            long size = spec.sizeBytes();
            if (size <= 0) {
                throw new IllegalArgumentException("RAM block '" + name + "': sizeBytes=" + size + ", expected > 0");
            }
            if (size % spec.pageSizeBytes() != 0) {
                throw new IllegalArgumentException("RAM block '" + name + "': sizeBytes=" + size
                        + " is not a multiple of the page size " + spec.pageSizeBytes() + " (" + Sizes.human(spec.pageSizeBytes())
                        + "); nearest valid sizes are " + (size / spec.pageSizeBytes()) * spec.pageSizeBytes() + " and "
                        + (size / spec.pageSizeBytes() + 1) * spec.pageSizeBytes());
            }
            specs.add(spec);
            return this;
        }
    }

    /** One declared block, checked for what can be checked without the host. */
    record BlockSpec(String name, Kind kind, long sizeBytes, long pageSizeBytes, Path path,
                     boolean transparentHugePages) {
        enum Kind { ANONYMOUS, MEMFD, HUGETLB, HUGETLBFS_FILE, FILE }
    }
}
