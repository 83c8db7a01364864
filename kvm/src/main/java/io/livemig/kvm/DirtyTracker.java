package io.livemig.kvm;

import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.RamBlock;

/**
 * One way of learning which guest pages were written: KVM_GET_DIRTY_LOG ({@link Backend#LOG}),
 * KVM_CLEAR_DIRTY_LOG with manual protect ({@link Backend#CLEAR}), the per-vCPU KVM dirty ring
 * ({@link Backend#RING}), or the software bitmap the Java vCPUs mark ({@link Backend#SOFTWARE}).
 *
 * <p>Contract (checked by the dirty-tracking contract test against every backend): every page the guest
 * writes after tracking started is reported by a later {@link #sync}, at least once, and no write is ever
 * missed across syncs. A backend may report a superset only where KVM documents it (e.g. the
 * initially-all-set mode of {@link Backend#CLEAR} reports all pages on the first sync).
 *
 * <p>Threads: {@link #sync} and {@link #clearBeforeSend} are called by one thread (the migration thread);
 * vCPUs run concurrently.
 */
public interface DirtyTracker extends AutoCloseable {

    enum Backend { LOG, CLEAR, RING, SOFTWARE }

    /**
     * @param backend         which mechanism
     * @param clearChunkBytes for CLEAR: the granularity of KVM_CLEAR_DIRTY_LOG calls (power of two, multiple of 64 pages)
     * @param ringEntries     for RING: entries per vCPU ring (power of two)
     */
    record Config(Backend backend, long clearChunkBytes, int ringEntries) {
        public static Config of(Backend backend) {
            return new Config(backend, 256L << 10, 65536);
        }
    }

    Backend backend();

    /**
     * Collects the pages dirtied since the previous sync (or since tracking started) and ORs them into the
     * block's bitmap in {@code bitmaps}. Returns the number of pages reported by this sync (a page
     * reported twice counts once per sync).
     */
    long sync(DirtyBitmaps bitmaps);

    /**
     * Called just before pages {@code [firstPage, firstPage + pageCount)} of {@code block} are sent: the
     * CLEAR backend re-protects them here (KVM_CLEAR_DIRTY_LOG in chunks), as QEMU does; others do nothing.
     */
    default void clearBeforeSend(RamBlock block, long firstPage, long pageCount) {
    }

    /** Stops tracking (KVM_MEM_LOG_DIRTY_PAGES off, rings drained) and frees its resources. */
    @Override
    void close();

    /** One {@link DirtyBitmap} per RAM block, indexed by the block. */
    interface DirtyBitmaps {
        DirtyBitmap of(RamBlock block);
    }
}
