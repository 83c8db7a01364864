package io.livemig.kvm.java;

import io.livemig.kvm.DirtyTracker;
import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.RamBlock;

/**
 * {@link DirtyTracker.Backend#SOFTWARE}: harvests the bitmap the Java vCPUs mark after each store. Reports
 * exactly the pages written since the previous sync (no initial all-set, no false positives), only for the
 * RAM block {@code "ram"} (the only one the Java guest writes). See {@link GuestAccess} for the ordering.
 */
public final class SoftwareDirtyTracker implements DirtyTracker {
    private final JavaMachine machine;
    private final RamBlock ram;
    private final SoftwareDirtyLog log;
    private volatile boolean closed;

    SoftwareDirtyTracker(JavaMachine machine, RamBlock ram, SoftwareDirtyLog log) {
        this.machine = machine;
        this.ram = ram;
        this.log = log;
    }

    @Override
    public Backend backend() {
        return Backend.SOFTWARE;
    }

    @Override
    public long sync(DirtyBitmaps bitmaps) {
        if (closed) throw new IllegalStateException("sync(): the software dirty tracker is closed");
        DirtyBitmap into = bitmaps.of(ram);
        if (into.pages() < log.pages()) {
            throw new IllegalArgumentException("sync(): bitmap for block '" + ram.name() + "' has " + into.pages()
                    + " pages, expected " + log.pages());
        }
        return log.harvestInto(into);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        machine.trackerClosed(this);
    }
}
