package io.livemig.memory;

/** What a {@link RamBlock}'s memory is made of. */
public enum Backing {
    /** Private anonymous mapping ({@code MAP_NORESERVE}, optionally {@code MADV_HUGEPAGE}); no fd. */
    ANONYMOUS,
    /** Shared mapping of a {@code memfd_create} file: shareable by fd (postcopy, same-host handover). */
    MEMFD,
    /** Huge pages of 2 MiB or 1 GiB: {@code MAP_HUGETLB} (no fd) or a file on a hugetlbfs mount (fd). */
    HUGETLB,
    /** Shared mapping of a regular file the caller names; contents persist in the file. */
    FILE
}
