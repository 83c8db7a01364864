/**
 * Guest RAM: {@link io.livemig.memory.GuestMemory} owns named {@link io.livemig.memory.RamBlock}s
 * (anonymous, memfd, hugetlb/hugetlbfs, file), each an off-heap mapping whose segment dies with the
 * block; {@link io.livemig.memory.DirtyBitmap} tracks dirty 4 KiB pages lock-free (ordering stated in
 * its Javadoc); {@link io.livemig.memory.ZeroPages} finds zero pages at memory bandwidth;
 * {@link io.livemig.memory.Prefault} populates destination RAM across threads.
 *
 * <p>Host problems are found before anything is mapped: huge page shortfalls throw
 * {@link io.livemig.memory.HugePagesUnavailableException}, whose message names the command
 * ({@code sysctl vm.nr_hugepages=N}) and the page count.
 */
package io.livemig.memory;
