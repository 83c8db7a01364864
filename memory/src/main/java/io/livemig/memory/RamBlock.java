package io.livemig.memory;

import io.livemig.sys.LibC;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One named region of guest RAM (QEMU's RAMBlock): an off-heap mapping this block owns, plus the fd
 * behind it when there is one. Created by {@link GuestMemory.Builder}; closed by its {@link GuestMemory}
 * (or directly), exactly once: the mapping is unmapped and the fd closed.
 *
 * <p>The {@linkplain #segment() segment} belongs to a shared arena that the block closes: after
 * {@link #close()} any access through it throws {@link IllegalStateException} instead of touching an
 * unmapped address, and closing while another thread is inside a downcall that holds the segment fails
 * with {@link IllegalStateException} (close it after the threads using it stopped).
 */
public final class RamBlock implements AutoCloseable {
    /** Migration granularity: dirty bits, page records and zero detection are per 4 KiB page. */
    public static final int TARGET_PAGE_SIZE = 4096;

    private final String name;
    private final Backing backing;
    private final long sizeBytes;
    private final long pageSizeBytes;
    private final int fd;
    private final Path path;
    private final Arena arena;
    private final MemorySegment segment;
    private final AtomicBoolean closed = new AtomicBoolean();

    RamBlock(String name, Backing backing, long sizeBytes, long pageSizeBytes, int fd, Path path, Arena arena,
             MemorySegment segment) {
        this.name = name;
        this.backing = backing;
        this.sizeBytes = sizeBytes;
        this.pageSizeBytes = pageSizeBytes;
        this.fd = fd;
        this.path = path;
        this.arena = arena;
        this.segment = segment;
    }

    /** The block's name, unique within its {@link GuestMemory} (QEMU's idstr, e.g. {@code "ram"}). */
    public String name() {
        return name;
    }

    /** The whole block as one segment of {@link #sizeBytes()} bytes, valid until {@link #close()}. */
    public MemorySegment segment() {
        if (closed.get()) throw new IllegalStateException("RAM block '" + name + "' is closed");
        return segment;
    }

    /** Size in bytes, a multiple of {@link #pageSizeBytes()}. */
    public long sizeBytes() {
        return sizeBytes;
    }

    /** Backing page size: 4096, or the huge page size (2 MiB, 1 GiB) for {@link Backing#HUGETLB}. */
    public long pageSizeBytes() {
        return pageSizeBytes;
    }

    /** The fd behind the mapping (memfd, hugetlbfs or regular file), or -1 for anonymous memory. */
    public int fd() {
        return fd;
    }

    /** The file behind a {@link Backing#FILE} block; empty otherwise (hugetlbfs files are unlinked). */
    public Optional<Path> path() {
        return Optional.ofNullable(path);
    }

    public Backing backing() {
        return backing;
    }

    /** Number of {@link #TARGET_PAGE_SIZE} pages: the size of this block's dirty bitmap. */
    public long pages() {
        return sizeBytes / TARGET_PAGE_SIZE;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Unmaps the memory and closes the fd; later calls do nothing.
     *
     * @throws IllegalStateException if another thread is inside a native call that holds the segment
     *         (e.g. a blocking read into guest RAM); the block then stays open and can be closed again
     *         once that call returned
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        try {
            arena.close(); // munmaps: LibC.mmap(Arena, ...) registered munmap as the arena's cleanup
        } catch (IllegalStateException e) {
            if (arena.scope().isAlive()) {
                closed.set(false);
                throw new IllegalStateException("RAM block '" + name + "' is still in use by a native call on another"
                        + " thread; close it after that call returns", e);
            }
            closeFd(e);
            throw e;
        } catch (RuntimeException e) {
            closeFd(e);
            throw e;
        }
        closeFd(null);
    }

    private void closeFd(RuntimeException primary) {
        if (fd < 0) return;
        try {
            LibC.close(fd);
        } catch (RuntimeException e) {
            if (primary == null) throw e;
            primary.addSuppressed(e);
        }
    }

    @Override
    public String toString() {
        return "RamBlock[" + name + ", " + backing + ", " + sizeBytes + " bytes, pageSizeBytes=" + pageSizeBytes
                + (fd >= 0 ? ", fd=" + fd : "") + (closed.get() ? ", closed" : "") + "]";
    }
}
