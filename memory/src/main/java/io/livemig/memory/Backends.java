package io.livemig.memory;

import io.livemig.memory.GuestMemory.BlockSpec;
import io.livemig.sys.LibC;
import io.livemig.sys.SyscallException;
import io.livemig.sys.abi.ErrnoH;
import io.livemig.sys.abi.MmanH;
import io.livemig.sys.abi.StatfsH;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Maps {@link BlockSpec}s. Three phases so that host problems show before anything is mapped:
 * <ol>
 *   <li>probe: open the files of file-backed blocks and {@code fstatfs} them (hugetlbfs? which page
 *       size?), check sizes against the real page size;</li>
 *   <li>check the huge page pools hold what all huge-page blocks need together;</li>
 *   <li>map, in declaration order; on failure unmap what was mapped and close every fd.</li>
 * </ol>
 */
final class Backends {
    private static final int PROT_RW = MmanH.PROT_READ | MmanH.PROT_WRITE;
    /** memfd_create names are at most 249 bytes; the name only shows in /proc/PID/maps. */
    private static final int MEMFD_NAME_MAX = 249;

    private Backends() {
    }

    /** A spec after the probe phase: resolved backing, page size and (for file kinds) an open fd. */
    private record Probed(BlockSpec spec, Backing backing, long pageSizeBytes, int fd, Path path) {
    }

    static List<RamBlock> mapAll(List<BlockSpec> specs) {
        List<Probed> probed = new ArrayList<>();
        List<RamBlock> mapped = new ArrayList<>();
        try {
            for (BlockSpec s : specs) probed.add(probe(s));
            checkHugePages(probed);
            for (Probed p : probed) {
                mapped.add(map(p));
            }
            return mapped;
        } catch (RuntimeException e) {
            for (int i = mapped.size(); i < probed.size(); i++) {
                int fd = probed.get(i).fd();
                if (fd >= 0) closeQuietly(fd, e);
            }
            try {
                GuestMemory.closeAll(mapped);
            } catch (RuntimeException closeFailure) {
                e.addSuppressed(closeFailure);
            }
            throw e;
        }
    }

    private static Probed probe(BlockSpec s) {
        return switch (s.kind()) {
            case ANONYMOUS -> new Probed(s, Backing.ANONYMOUS, RamBlock.TARGET_PAGE_SIZE, -1, null);
            case MEMFD -> new Probed(s, Backing.MEMFD, RamBlock.TARGET_PAGE_SIZE, -1, null);
            case HUGETLB -> {
                if (!HugePagePool.supported(s.pageSizeBytes())) {
                    throw new IllegalArgumentException("RAM block '" + s.name() + "': this kernel has no "
                            + Sizes.human(s.pageSizeBytes()) + " huge page pool (no " + HugePagePool.dir(s.pageSizeBytes())
                            + "); huge page sizes here: " + HugePagePool.supportedText());
                }
                yield new Probed(s, Backing.HUGETLB, s.pageSizeBytes(), -1, null);
            }
            case HUGETLBFS_FILE -> probeHugetlbfsDir(s);
            case FILE -> probeFile(s);
        };
    }

    /** A new file in the hugetlbfs directory, opened and unlinked at once (nothing to clean up later). */
    private static Probed probeHugetlbfsDir(BlockSpec s) {
        Path dir = s.path();
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("RAM block '" + s.name() + "': hugetlbfs directory " + dir
                    + " does not exist or is not a directory");
        }
        Path file;
        try {
            file = Files.createTempFile(dir, "livemig-" + safeFileName(s.name()) + "-", ".ram");
        } catch (IOException e) {
            throw new UncheckedIOException("RAM block '" + s.name() + "': cannot create a file in " + dir, e);
        }
        int fd;
        try {
            fd = LibC.open(file.toString(), MmanH.O_RDWR | MmanH.O_CLOEXEC, 0);
        } finally {
            deleteQuietly(file);
        }
        try {
            long[] fs = fstatfs(fd);
            if (fs[0] != StatfsH.HUGETLBFS_MAGIC) {
                throw new IllegalArgumentException("RAM block '" + s.name() + "': " + dir + " is not on a hugetlbfs mount"
                        + " (f_type=0x" + Long.toHexString(fs[0]) + "); mount one as root: mount -t hugetlbfs -o pagesize=2M none "
                        + dir);
            }
            checkMultiple(s, fs[1], "the page size of the hugetlbfs mount " + dir);
            return new Probed(s, Backing.HUGETLB, fs[1], fd, null);
        } catch (RuntimeException e) {
            closeQuietly(fd, e);
            throw e;
        }
    }

    private static Probed probeFile(BlockSpec s) {
        Path path = s.path();
        try {
            Files.createFile(path);
        } catch (FileAlreadyExistsException e) {
            // use it as it is
        } catch (IOException e) {
            throw new UncheckedIOException("RAM block '" + s.name() + "': cannot create " + path, e);
        }
        int fd = LibC.open(path.toString(), MmanH.O_RDWR | MmanH.O_CLOEXEC, 0);
        try {
            long[] fs = fstatfs(fd);
            if (fs[0] == StatfsH.HUGETLBFS_MAGIC) {
                checkMultiple(s, fs[1], "the page size of the hugetlbfs mount holding " + path);
                return new Probed(s, Backing.HUGETLB, fs[1], fd, path);
            }
            return new Probed(s, Backing.FILE, RamBlock.TARGET_PAGE_SIZE, fd, path);
        } catch (RuntimeException e) {
            closeQuietly(fd, e);
            throw e;
        }
    }

    /** Sums what every huge-page block needs per page size; throws naming the sysctl and the count. */
    private static void checkHugePages(List<Probed> probed) {
        Map<Long, Long> pagesBySize = new LinkedHashMap<>();
        Map<Long, List<String>> namesBySize = new LinkedHashMap<>();
        for (Probed p : probed) {
            if (p.backing() != Backing.HUGETLB) continue;
            pagesBySize.merge(p.pageSizeBytes(), p.spec().sizeBytes() / p.pageSizeBytes(), Long::sum);
            namesBySize.computeIfAbsent(p.pageSizeBytes(), k -> new ArrayList<>()).add(p.spec().name());
        }
        for (Map.Entry<Long, Long> e : pagesBySize.entrySet()) {
            HugePagePool.requireAvailable(e.getKey(), e.getValue(), "RAM blocks " + namesBySize.get(e.getKey()));
        }
    }

    private static RamBlock map(Probed p) {
        BlockSpec s = p.spec();
        long size = s.sizeBytes();
        Arena arena = Arena.ofShared();
        int fd = p.fd();
        try {
            MemorySegment seg;
            switch (s.kind()) {
                case ANONYMOUS -> {
                    int flags = MmanH.MAP_PRIVATE | MmanH.MAP_ANONYMOUS | MmanH.MAP_NORESERVE;
                    seg = s.transparentHugePages()
                            ? LibC.mmapAnonymousAligned(arena, size, GuestMemory.Builder.HUGE_2MB, PROT_RW, flags)
                            : LibC.mmap(arena, 0, size, PROT_RW, flags, -1, 0);
                    if (s.transparentHugePages()) {
                        int r = LibC.madviseOrErrno(seg, MmanH.MADV_HUGEPAGE);
                        // EINVAL: kernel built without THP; the block still works with 4 KiB pages
                        if (r < 0 && -r != ErrnoH.EINVAL) {
                            throw new SyscallException("madvise(MADV_HUGEPAGE, RAM block '" + s.name() + "', length="
                                    + size + ")", -r);
                        }
                    }
                }
                case MEMFD -> {
                    fd = LibC.memfdCreate(memfdName(s.name()), MmanH.MFD_CLOEXEC | MmanH.MFD_ALLOW_SEALING);
                    LibC.ftruncate(fd, size);
                    seg = LibC.mmap(arena, 0, size, PROT_RW, MmanH.MAP_SHARED, fd, 0);
                }
                case HUGETLB -> {
                    int huge = s.pageSizeBytes() == GuestMemory.Builder.HUGE_1GB ? MmanH.MAP_HUGE_1GB : MmanH.MAP_HUGE_2MB;
                    seg = mapHuge(p, arena, MmanH.MAP_PRIVATE | MmanH.MAP_ANONYMOUS | MmanH.MAP_HUGETLB | huge, -1);
                }
                case HUGETLBFS_FILE -> {
                    LibC.ftruncate(fd, size);
                    seg = mapHuge(p, arena, MmanH.MAP_SHARED, fd);
                }
                case FILE -> {
                    if (fileSize(p.path()) < size) LibC.ftruncate(fd, size);
                    seg = p.backing() == Backing.HUGETLB
                            ? mapHuge(p, arena, MmanH.MAP_SHARED, fd)
                            : LibC.mmap(arena, 0, size, PROT_RW, MmanH.MAP_SHARED, fd, 0);
                }
                default -> throw new AssertionError(s.kind());
            }
            return new RamBlock(s.name(), p.backing(), size, p.pageSizeBytes(), fd, p.path(), arena, seg);
        } catch (RuntimeException e) {
            try {
                arena.close();
            } catch (RuntimeException closeFailure) {
                e.addSuppressed(closeFailure);
            }
            // the probe's fd is closed by mapAll; one created here is ours to close
            if (fd >= 0 && fd != p.fd()) closeQuietly(fd, e);
            throw e;
        }
    }

    /** mmap of huge pages; ENOMEM means the pool ran dry since the check (someone else took pages). */
    private static MemorySegment mapHuge(Probed p, Arena arena, int flags, int fd) {
        try {
            return LibC.mmap(arena, 0, p.spec().sizeBytes(), PROT_RW, flags, fd, 0);
        } catch (SyscallException e) {
            if (e.errno() != ErrnoH.ENOMEM && e.errno() != ErrnoH.ENOSPC) throw e;
            long pages = p.spec().sizeBytes() / p.pageSizeBytes();
            HugePagesUnavailableException hue = HugePagePool.unavailable(p.pageSizeBytes(), pages,
                    HugePagePool.available(p.pageSizeBytes()), "RAM blocks [" + p.spec().name() + "]", e.getMessage());
            hue.initCause(e);
            throw hue;
        }
    }

    /** {f_type, f_bsize} of the file system holding {@code fd}. */
    private static long[] fstatfs(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(StatfsH.statfs.SIZE, Long.BYTES);
            LibC.fstatfs(fd, buf);
            return new long[] {buf.get(ValueLayout.JAVA_LONG, StatfsH.statfs.f_type),
                    buf.get(ValueLayout.JAVA_LONG, StatfsH.statfs.f_bsize)};
        }
    }

    private static void checkMultiple(BlockSpec s, long pageSizeBytes, String what) {
        if (s.sizeBytes() % pageSizeBytes != 0) {
            throw new IllegalArgumentException("RAM block '" + s.name() + "': sizeBytes=" + s.sizeBytes()
                    + " is not a multiple of " + what + ", " + pageSizeBytes + " (" + Sizes.human(pageSizeBytes) + ")");
        }
    }

    private static long fileSize(Path path) {
        try {
            return Files.size(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the size of " + path, e);
        }
    }

    private static String memfdName(String blockName) {
        String n = "livemig:" + blockName;
        while (n.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MEMFD_NAME_MAX) {
            n = n.substring(0, n.length() - 1);
        }
        return n;
    }

    private static String safeFileName(String name) {
        String n = name.replaceAll("[^A-Za-z0-9._-]", "_");
        return n.length() > 64 ? n.substring(0, 64) : n;
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // an unlinked-or-not temp file in a hugetlbfs dir holds no pages until mapped
        }
    }

    private static void closeQuietly(int fd, RuntimeException primary) {
        try {
            LibC.close(fd);
        } catch (RuntimeException e) {
            primary.addSuppressed(e);
        }
    }
}
