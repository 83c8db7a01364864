package io.livemig.kvm.hw;

import io.livemig.kvm.DirtyTracker;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import io.livemig.sys.abi.KvmH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.List;
import java.util.function.Consumer;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Dirty tracking with KVM's per-slot bitmap: {@link DirtyTracker.Backend#LOG} (KVM_GET_DIRTY_LOG, which
 * atomically returns and re-protects) or {@link DirtyTracker.Backend#CLEAR} (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
 * with INITIALLY_SET: GET only reads, and pages are re-protected with KVM_CLEAR_DIRTY_LOG one chunk at a time
 * just before they are sent, as QEMU does with its clear_bmap).
 *
 * <p>CLEAR bookkeeping per slot: {@code synced} holds the bitmap the last sync read (and reported), and
 * {@code needsClear} one bit per chunk that had a dirty page in it. The first {@link #clearBeforeSend} that
 * touches a chunk after a sync clears exactly the chunk's bits that sync reported: those pages are in the
 * caller's bitmap and are about to be sent (after the clear), so a write racing with the send is logged again;
 * pages that became dirty after the sync keep their KVM bit and show up in the next sync. Chunks are whole
 * bitmap words (64 pages), the granularity KVM_CLEAR_DIRTY_LOG requires.
 *
 * <p>Threads: sync/clearBeforeSend/close from one thread (the migration thread).
 */
final class KvmDirtyLogTracker implements DirtyTracker {
    private final Vm vm;
    private final GuestMemory memory;
    private final List<MemorySlotPlan.Slot> slots;
    private final Backend backend;
    private final long chunkPages;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] synced;
    private final BitSet[] needsClear;
    private final MemorySegment clearMask;
    private final Consumer<DirtyTracker> onClose;
    private boolean closed;

    KvmDirtyLogTracker(Vm vm, GuestMemory memory, MemorySlotPlan plan, Backend backend, long clearChunkBytes,
                       Consumer<DirtyTracker> onClose) {
        if (backend != Backend.LOG && backend != Backend.CLEAR) throw new IllegalArgumentException("backend=" + backend);
        this.chunkPages = backend == Backend.CLEAR ? DirtyLogMath.chunkPages(clearChunkBytes) : 0;
        this.vm = vm;
        this.memory = memory;
        this.slots = plan.slots();
        this.backend = backend;
        this.onClose = onClose;
        this.synced = new MemorySegment[slots.size()];
        this.needsClear = new BitSet[slots.size()];
        for (int i = 0; i < slots.size(); i++) {
            synced[i] = arena.allocate(Math.max(8, DirtyLogMath.bitmapBytes(slots.get(i).pages())), 8);
            needsClear[i] = new BitSet();
        }
        this.clearMask = backend == Backend.CLEAR ? arena.allocate(DirtyLogMath.bitmapBytes(chunkPages), 8) : null;
        try {
            if (backend == Backend.CLEAR) vm.enableManualDirtyLogProtect();
            for (MemorySlotPlan.Slot s : slots) vm.setSlotFlags(s.id(), vm.binding(s.id()).flags() | KvmH.KVM_MEM_LOG_DIRTY_PAGES);
        } catch (RuntimeException e) {
            stopLogging();
            arena.close();
            throw e;
        }
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public long sync(DirtyBitmaps bitmaps) {
        if (closed) throw new IllegalStateException("tracker closed");
        long reported = 0;
        for (int i = 0; i < slots.size(); i++) {
            MemorySlotPlan.Slot s = slots.get(i);
            MemorySegment bm = synced[i];
            vm.getDirtyLog(s.id(), bm);
            long words = DirtyLogMath.bitmapBytes(s.pages()) / 8;
            if (backend == Backend.CLEAR) needsClear[i].clear();
            for (long w = 0; w < words; w++) {
                long x = bm.get(JAVA_LONG, w * 8);
                if (x == 0) continue;
                reported += Long.bitCount(x);
                if (backend == Backend.CLEAR) needsClear[i].set((int) (w * 64 / chunkPages));
            }
            RamBlock block = memory.block(s.blockName());
            bitmaps.of(block).orKernelBitmap(bm, s.firstBlockPage(), s.pages());
        }
        return reported;
    }

    @Override
    public void clearBeforeSend(RamBlock block, long firstPage, long pageCount) {
        if (backend != Backend.CLEAR || closed) return;
        for (int i = 0; i < slots.size(); i++) {
            MemorySlotPlan.Slot s = slots.get(i);
            if (!s.blockName().equals(block.name())) continue;
            long[] range = DirtyLogMath.chunksTouched(s.pages(), chunkPages, firstPage - s.firstBlockPage(), pageCount);
            if (range == null) continue;
            for (long c = range[0]; c <= range[1]; c++) {
                if (!needsClear[i].get((int) c)) continue;
                needsClear[i].clear((int) c);
                long first = c * chunkPages;
                long len = DirtyLogMath.chunkLength(s.pages(), chunkPages, c);
                long bytes = DirtyLogMath.bitmapBytes(len);
                MemorySegment.copy(synced[i], first / 8, clearMask, 0, bytes);
                vm.clearDirtyLog(s.id(), first, len, clearMask);
            }
        }
    }

    private void stopLogging() {
        RuntimeException first = null;
        for (MemorySlotPlan.Slot s : slots) {
            try {
                vm.setSlotFlags(s.id(), vm.binding(s.id()).flags() & ~KvmH.KVM_MEM_LOG_DIRTY_PAGES);
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        try {
            if (backend == Backend.CLEAR) vm.disableManualDirtyLogProtect();
        } catch (RuntimeException e) {
            if (first == null) first = e;
        }
        if (first != null) throw first;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            stopLogging();
        } finally {
            arena.close();
            onClose.accept(this);
        }
    }
}
