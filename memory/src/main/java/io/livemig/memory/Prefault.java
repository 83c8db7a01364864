package io.livemig.memory;

import io.livemig.sys.LibC;
import io.livemig.sys.SyscallException;
import io.livemig.sys.abi.ErrnoH;
import io.livemig.sys.abi.MmanH;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Populates (prefaults) memory before it is needed, e.g. destination guest RAM before an incoming
 * migration, so the receive path does not pay a page fault (~15 us here under nested virtualisation)
 * per page. The range is cut into chunks that worker threads claim from a shared cursor, each calling
 * {@code madvise(MADV_POPULATE_WRITE)} (Linux 5.14+): the kernel allocates and maps writable pages
 * without the data changing.
 *
 * <p>After a successful {@code MADV_POPULATE_WRITE} each 4 KiB page is still written once (an atomic add
 * of zero). Under nested virtualisation the guest kernel's populate does not make the outer hypervisor
 * back the page: measured here (256 MiB, 2 threads), populate took 35 ms and the first 4 KiB copies into
 * the "populated" pages then still cost ~6.4 us each (420 ms), the second pass 11 ms; after a write-touch
 * pass (460 ms on 2 threads, off the receive path) the copies took 20 ms. On an ordinary host the touch
 * finds every page mapped and costs a few ms per GiB.
 *
 * <p>Where the kernel lacks {@code MADV_POPULATE_WRITE} (EINVAL) the helper falls back to touching each
 * page with an atomic add of zero to its first 8 bytes: a write fault that cannot lose a concurrent
 * store, unlike QEMU's plain {@code *p = *p}. Other failures (ENOMEM, EFAULT when a hugetlb pool runs
 * dry, EHWPOISON) throw {@link SyscallException} naming the range.
 */
public final class Prefault {
    /** Chunks are large enough that madvise's per-call cost vanishes, small enough to balance threads. */
    private static final long MAX_CHUNK_BYTES = 64L << 20;
    private static final VarHandle LONG_AT = ValueLayout.JAVA_LONG.varHandle();

    /** How {@link #populateWrite} got the pages in; for tests and logs. */
    public enum Method { MADV_POPULATE_WRITE, TOUCH }

    /** {@code madvise} as a seam so tests can play a kernel without MADV_POPULATE_WRITE. */
    @FunctionalInterface
    interface Advisor {
        /** 0 or {@code -errno}. */
        int madvise(MemorySegment range, int advice);
    }

    private Prefault() {
    }

    /**
     * Populates all of {@code seg} writable using up to {@code threads} threads (the caller's thread
     * when 1). {@code seg} must start on a 4 KiB boundary and be a whole number of 4 KiB pages; for huge
     * page memory use {@link #populateWrite(RamBlock, int)} so chunks follow huge page boundaries.
     */
    public static void populateWrite(MemorySegment seg, int threads) {
        populateWrite(seg, RamBlock.TARGET_PAGE_SIZE, threads, LibC::madviseOrErrno);
    }

    /** Populates a whole block, in chunks aligned to its backing page size. */
    public static Method populateWrite(RamBlock block, int threads) {
        return populateWrite(block.segment(), block.pageSizeBytes(), threads, LibC::madviseOrErrno);
    }

    static Method populateWrite(MemorySegment seg, long pageSizeBytes, int threads, Advisor advisor) {
        if (threads < 1) throw new IllegalArgumentException("threads=" + threads + ", expected >= 1");
        if (Long.bitCount(pageSizeBytes) != 1 || pageSizeBytes < RamBlock.TARGET_PAGE_SIZE) {
            throw new IllegalArgumentException("pageSizeBytes=" + pageSizeBytes + ", expected a power of two >= 4096");
        }
        if (seg.address() % pageSizeBytes != 0 || seg.byteSize() % pageSizeBytes != 0) {
            throw new IllegalArgumentException("segment at 0x" + Long.toHexString(seg.address()) + " of " + seg.byteSize()
                    + " bytes, expected address and size multiples of pageSizeBytes=" + pageSizeBytes);
        }
        long size = seg.byteSize();
        if (size == 0) return Method.MADV_POPULATE_WRITE;
        // Enough chunks for every thread to get several (balance), each a whole number of pages.
        long chunk = Math.max(pageSizeBytes, Math.min(MAX_CHUNK_BYTES, size / ((long) threads * 4)));
        chunk -= chunk % pageSizeBytes;
        long chunks = (size + chunk - 1) / chunk;
        int workers = (int) Math.min(threads, chunks);

        Job job = new Job(seg, chunk, pageSizeBytes, advisor);
        if (workers == 1) {
            job.run();
        } else {
            List<Thread> started = new ArrayList<>(workers - 1);
            for (int i = 1; i < workers; i++) {
                started.add(Thread.ofPlatform().name("livemig-prefault-" + i).daemon().start(job));
            }
            job.run(); // the caller is worker 0
            boolean interrupted = false;
            for (Thread t : started) {
                while (true) {
                    try {
                        t.join(); // bounded: each worker finishes when the cursor passes the end
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                        job.failure.compareAndSet(null, new IllegalStateException("prefault interrupted"));
                    }
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
        Throwable f = job.failure.get();
        if (f instanceof RuntimeException re) throw re;
        if (f instanceof Error err) throw err;
        if (f != null) throw new IllegalStateException(f);
        return job.touched.get() ? Method.TOUCH : Method.MADV_POPULATE_WRITE;
    }

    /** The shared work: a cursor over chunks; the first failure stops everyone. */
    private static final class Job implements Runnable {
        private final MemorySegment seg;
        private final long chunk;
        private final long pageSizeBytes;
        private final Advisor advisor;
        private final AtomicLong cursor = new AtomicLong();
        /** Set once any worker saw EINVAL; later chunks go straight to touching. */
        private final AtomicBoolean touched = new AtomicBoolean();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(MemorySegment seg, long chunk, long pageSizeBytes, Advisor advisor) {
            this.seg = seg;
            this.chunk = chunk;
            this.pageSizeBytes = pageSizeBytes;
            this.advisor = advisor;
        }

        @Override
        public void run() {
            try {
                long size = seg.byteSize();
                for (long off = cursor.getAndAdd(chunk); off < size && failure.get() == null; off = cursor.getAndAdd(chunk)) {
                    MemorySegment range = seg.asSlice(off, Math.min(chunk, size - off));
                    if (!touched.get()) {
                        int r = advisor.madvise(range, MmanH.MADV_POPULATE_WRITE);
                        if (r == 0) {
                            touch(range, RamBlock.TARGET_PAGE_SIZE);
                            continue;
                        }
                        if (-r != ErrnoH.EINVAL) {
                            throw new SyscallException("madvise(MADV_POPULATE_WRITE, offset=" + off + ", length="
                                    + range.byteSize() + ")", -r);
                        }
                        touched.set(true);
                    }
                    touch(range, pageSizeBytes);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        }

        /** One write per {@code step} bytes; atomic so a concurrent writer's store is never lost. */
        private static void touch(MemorySegment range, long step) {
            for (long p = 0; p < range.byteSize(); p += step) {
                long unused = (long) LONG_AT.getAndAdd(range, p, 0L);
            }
        }
    }
}
