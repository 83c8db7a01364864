package io.livemig.engine.migration;

import io.livemig.engine.ram.RamRecord;
import io.livemig.engine.ram.RamRegion;
import io.livemig.engine.ram.RamSaver;
import io.livemig.engine.ram.RamStats;
import io.livemig.engine.stream.DeviceSection;
import io.livemig.engine.stream.OutgoingStream;
import io.livemig.engine.stream.SaveOptions;
import io.livemig.engine.stream.SectionHeader;
import io.livemig.engine.stream.StreamWriter;
import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.GuestMachine;
import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;

import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The source side of one live precopy migration, run on the migration thread ({@link #run()}).
 *
 * <pre>
 * SETUP   header, configuration, RAM setup; dirty tracking on; every page marked to send
 * ACTIVE  repeat: a RAM PART section of at most 50 ms of dirty pages (rate-limited to max-bandwidth);
 *         counters every 100 ms; when the bitmap is drained or what is left fits under
 *         bandwidth x downtime-limit: dirty sync (MIGRATION_PASS), auto-converge decision, and switch
 *         over when the synced remainder still fits
 * [PRE_SWITCHOVER] vCPUs stopped; waits for migrate-continue (capability pause-before-switchover)
 * DEVICE  vCPUs stopped, last sync, RAM END with the last pages, device sections, EOF, vmdesc
 * COMPLETED (source stays stopped: postmigrate) | FAILED | CANCELLED (source resumed if it was running)
 * </pre>
 *
 * <p>No page is lost: a page's bit is consumed (test-and-clear) before its bytes are read, and a write
 * after that read sets the bit again at the next sync (the trackers' contract). Pages livemig itself
 * writes into guest RAM (QMP writes) are reported through {@link #markDirty} because KVM's dirty log
 * only sees guest writes.
 *
 * <p>Threads: {@link #run()} on the migration thread only. {@link #cancel()}, {@link #continueSwitchover()},
 * {@link #markDirty}, {@link #status()} and {@link #stats()} from any thread: status and stats are
 * volatile snapshots written only by the migration thread; cancel is a volatile flag (the owner should
 * also shut the channel down so a blocked write returns).
 */
public final class PrecopySource {

    /** Told about state changes and dirty syncs, on the migration thread. */
    public interface Listener {
        void statusChanged(MigrationStatus status);

        default void dirtySync(long dirtySyncCount) {
        }
    }

    /**
     * @param params       the process's parameters, read live: max-bandwidth and downtime-limit changes
     *                     apply to the running migration, as in QEMU
     * @param capabilities capabilities fixed at migrate time
     * @param tracking     dirty-tracking backend for the machine (ignored without a machine)
     * @param saveOptions  stream options (machine name, uuid, RAM options); the run state is filled in here
     * @param devices      device sections to send, called while the vCPUs are stopped
     */
    public record Config(MigrationParameters params, Set<MigrationCapability> capabilities,
                         DirtyTracker.Config tracking, SaveOptions saveOptions,
                         Supplier<List<DeviceSection>> devices) {
    }

    /** Longest stretch of one RAM PART section, as QEMU's MAX_WAIT. */
    static final long ITERATION_SLICE_MS = 50;
    private static final long PAGE = RamRecord.PAGE_SIZE;

    private final GuestMemory memory;
    private final GuestMachine machine;
    private final WritableByteChannel channel;
    private final Config config;
    private final Listener listener;
    private final List<RamBlock> blocks;
    private final List<DirtyBitmap> toSend = new ArrayList<>();
    private final List<DirtyBitmap> livemigWrites = new ArrayList<>();
    private final CountDownLatch switchoverContinue = new CountDownLatch(1);
    private final long startNanos = System.nanoTime();

    private volatile MigrationStatus status = MigrationStatus.NONE;
    private volatile boolean cancelRequested;
    private volatile MigrationStats stats = MigrationStats.EMPTY;

    // Migration-thread state
    private ConvergenceController convergence;
    private OutgoingStream out;
    private long remainingPages;
    private long dirtySyncCount;
    private int cursorBlock;
    private long cursorPage;
    private long setupTimeMs = -1;
    private long downtimeMs = -1;
    private long downtimeStartBytes = -1;
    private long rateWindowStartMs;
    private long rateWindowStartBytes;
    private int throttlePercent;
    private String throttleUnsupported;
    private MigrationParameters.Snapshot params;
    private io.livemig.engine.ram.RamSaver.MultifdHook multifd;
    private java.util.function.LongSupplier multifdBytes = () -> 0;

    public PrecopySource(GuestMemory memory, GuestMachine machine, WritableByteChannel channel, Config config,
                         Listener listener) {
        this.memory = memory;
        this.machine = machine;
        this.channel = channel;
        this.config = config;
        this.listener = listener;
        this.blocks = memory.blocks();
        for (RamBlock b : blocks) {
            toSend.add(new DirtyBitmap(b.pages()));
            livemigWrites.add(new DirtyBitmap(b.pages()));
        }
    }

    /**
     * Capability {@code multifd}: non-zero pages go through {@code hook} (set before {@link #run()});
     * {@code bytes} are the multifd bytes sent so far, counted in {@code transferred} and by the bandwidth
     * estimate and rate limit as QEMU 7.2 does.
     */
    public void useMultifd(io.livemig.engine.ram.RamSaver.MultifdHook hook, java.util.function.LongSupplier bytes) {
        this.multifd = hook;
        this.multifdBytes = bytes;
    }

    public MigrationStatus status() {
        return status;
    }

    /** The latest figures for query-migrate. */
    public MigrationStats stats() {
        return stats;
    }

    /** Asks the migration to stop; {@link #run()} then ends CANCELLED with the source resumed. */
    public void cancel() {
        cancelRequested = true;
        switchoverContinue.countDown();
    }

    /** migrate-continue from pre-switchover; false when the migration is not waiting there. */
    public boolean continueSwitchover() {
        if (status != MigrationStatus.PRE_SWITCHOVER) return false;
        switchoverContinue.countDown();
        return true;
    }

    /** Records that livemig itself wrote {@code length} bytes at {@code offset} of {@code block}. */
    public void markDirty(RamBlock block, long offset, long length) {
        int i = blocks.indexOf(block);
        if (i < 0 || length <= 0) return;
        DirtyBitmap bm = livemigWrites.get(i);
        for (long p = offset / PAGE; p <= (offset + length - 1) / PAGE && p < bm.pages(); p++) bm.set(p);
    }

    /**
     * Runs the migration to its end. Returns normally when COMPLETED; throws (with the cause) when it
     * FAILED; returns with status CANCELLED after {@link #cancel()}.
     */
    public void run() {
        boolean wasRunning = machine != null && machine.runState() == GuestMachine.RunState.RUNNING;
        boolean pausedByUs = false;
        DirtyTracker tracker = null;
        try {
            params = config.params().snapshot();
            setStatus(MigrationStatus.SETUP);
            if (machine != null) tracker = machine.startDirtyTracking(config.tracking());
            for (DirtyBitmap b : toSend) b.setAll();
            remainingPages = memory.totalBytes() / PAGE;
            // QEMU counts setup's all-dirty bitmap as the first sync (ram_init_bitmaps): pass 1.
            dirtySyncCount = 1;
            listener.dirtySync(dirtySyncCount);
            SaveOptions options = config.saveOptions().withRunState(wasRunning ? "running" : "paused");
            out = new OutgoingStream(channel, RamRegion.of(memory), options);
            out.ramSaver().setMultifd(multifd);
            out.begin();
            out.writer().flush();
            setupTimeMs = elapsedMs();
            long now = elapsedMs();
            convergence = new ConvergenceController(params, has(MigrationCapability.AUTO_CONVERGE), now,
                    bytesSent());
            rateWindowStartMs = now;
            rateWindowStartBytes = bytesSent();
            setStatus(MigrationStatus.ACTIVE);

            boolean firstPassDone = false;
            while (true) {
                checkCancelled();
                params = config.params().snapshot();
                convergence.setParameters(params);
                boolean passDone = sendSlice();
                now = elapsedMs();
                if (convergence.updateCounters(now, bytesSent(), remainingPages * PAGE)) publishStats();
                // Like QEMU: sync when the pass is drained or the estimate already fits, then decide on
                // the synced figure. Unlike QEMU 7.2, never before the first pass has seen every page: the
                // estimate counts a page as 4 KiB whatever it costs, and a never-touched page costs a read
                // fault to find zero (~8 us each under nested virtualisation, measured: 39K of them turned a
                // 300 ms downtime limit into 430-530 ms when a fast first window allowed switchover mid-pass).
                if (passDone) firstPassDone = true;
                if (passDone || (firstPassDone && convergence.canSwitchOver(remainingPages * PAGE))) {
                    sync(tracker);
                    if (convergence.canSwitchOver(remainingPages * PAGE)) break;
                }
                rateLimit();
            }

            // Switchover: stop the guest, [wait for migrate-continue], send the rest and the devices.
            long downtimeStart = elapsedMs();
            downtimeStartBytes = bytesSent();
            if (wasRunning) {
                machine.pause();
                pausedByUs = true;
            }
            if (has(MigrationCapability.PAUSE_BEFORE_SWITCHOVER)) {
                setStatus(MigrationStatus.PRE_SWITCHOVER);
                while (!switchoverContinue.await(50, TimeUnit.MILLISECONDS)) checkCancelled();
                checkCancelled();
            }
            setStatus(MigrationStatus.DEVICE);
            sync(tracker);
            out.complete(toSend, config.devices().get());
            remainingPages = 0;
            downtimeMs = elapsedMs() - downtimeStart;
            setThrottle(0);
            publishStats();
            setStatus(MigrationStatus.COMPLETED);
            pausedByUs = false; // the source stays stopped (postmigrate), as QEMU's does
        } catch (Cancelled c) {
            setStatus(MigrationStatus.CANCELLING);
            publishStats();
            setStatus(MigrationStatus.CANCELLED);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            publishStats();
            setStatus(MigrationStatus.FAILED);
            throw new IllegalStateException("migration thread interrupted", e);
        } catch (RuntimeException | Error e) {
            publishStats();
            if (cancelRequested) {
                setStatus(MigrationStatus.CANCELLING);
                setStatus(MigrationStatus.CANCELLED);
            } else {
                setStatus(MigrationStatus.FAILED);
                throw e;
            }
        } finally {
            if (tracker != null) tracker.close();
            if (status != MigrationStatus.COMPLETED) {
                setThrottleQuietly();
                if (pausedByUs) machine.resume();
            }
            if (out != null) out.close();
        }
    }

    /** Sends dirty pages for up to one slice in one RAM PART section; returns whether the pass is drained. */
    private boolean sendSlice() {
        StreamWriter w = out.writer();
        RamSaver saver = out.ramSaver();
        SectionHeader.part(OutgoingStream.RAM_SECTION_ID).write(w);
        long deadline = elapsedMs() + ITERATION_SLICE_MS;
        long budgetEnd = rateBudgetEndBytes();
        boolean drained = false;
        int sinceCheck = 0;
        outer:
        while (true) {
            if (cursorBlock >= blocks.size()) {
                drained = true;
                break;
            }
            DirtyBitmap bm = toSend.get(cursorBlock);
            long p = cursorPage < bm.pages() ? bm.nextSetBit(cursorPage) : -1;
            if (p < 0) {
                cursorBlock++;
                cursorPage = 0;
                continue;
            }
            cursorPage = p + 1;
            if (!bm.testAndClear(p)) continue;
            remainingPages--;
            saver.savePage(cursorBlock, p);
            if (++sinceCheck >= 64) {
                sinceCheck = 0;
                if (cancelRequested || elapsedMs() >= deadline || bytesSent() >= budgetEnd) break outer;
            }
        }
        saver.writeEos();
        SectionHeader.writeFooter(w, OutgoingStream.RAM_SECTION_ID);
        w.flush();
        return drained;
    }

    /** One dirty sync: tracker + livemig's own writes into the to-send bitmaps; auto-converge decision. */
    private void sync(DirtyTracker tracker) {
        long before = countToSend();
        if (tracker != null) {
            Map<RamBlock, DirtyBitmap> byBlock = new IdentityHashMap<>();
            for (int i = 0; i < blocks.size(); i++) byBlock.put(blocks.get(i), toSend.get(i));
            tracker.sync(byBlock::get);
        }
        for (int i = 0; i < blocks.size(); i++) {
            DirtyBitmap from = livemigWrites.get(i);
            DirtyBitmap to = toSend.get(i);
            long words = (from.pages() + 63) / 64;
            for (long wi = 0; wi < words; wi++) {
                long bits = from.harvestWord(wi);
                while (bits != 0) {
                    to.set(wi * 64 + Long.numberOfTrailingZeros(bits));
                    bits &= bits - 1;
                }
            }
        }
        remainingPages = countToSend();
        cursorBlock = 0;
        cursorPage = 0;
        dirtySyncCount++;
        long newlyDirty = Math.max(0, remainingPages - before);
        setThrottle(convergence.onDirtySync(elapsedMs(), bytesSent(), newlyDirty));
        publishStats();
        listener.dirtySync(dirtySyncCount);
    }

    private long countToSend() {
        long n = 0;
        for (DirtyBitmap b : toSend) n += b.count();
        return n;
    }

    /** Bytes the current 100 ms window may still carry under max-bandwidth (Long.MAX_VALUE when unlimited). */
    private long rateBudgetEndBytes() {
        long bw = params.maxBandwidthBytesPerSec();
        if (bw == 0) return Long.MAX_VALUE;
        return rateWindowStartBytes + Math.max(PAGE, bw / (1000 / ConvergenceController.UPDATE_PERIOD_MS));
    }

    /** Sleeps out the rest of the window when its budget is spent; opens the next window. */
    private void rateLimit() throws Cancelled {
        long now = elapsedMs();
        long windowEnd = rateWindowStartMs + ConvergenceController.UPDATE_PERIOD_MS;
        if (bytesSent() >= rateBudgetEndBytes()) {
            while ((now = elapsedMs()) < windowEnd) {
                checkCancelled();
                sleepMs(Math.min(10, windowEnd - now));
            }
        }
        if (now >= windowEnd) {
            rateWindowStartMs = now;
            rateWindowStartBytes = bytesSent();
        }
    }

    private void setThrottle(int percent) {
        if (machine == null || percent == throttlePercent) return;
        try {
            machine.setThrottlePercent(percent);
            throttlePercent = percent;
        } catch (UnsupportedOperationException e) {
            throttleUnsupported = e.getMessage();
        }
    }

    private void setThrottleQuietly() {
        try {
            setThrottle(0);
        } catch (RuntimeException ignored) {
            // best effort while failing; the original failure is what the caller reports
        }
    }

    private boolean has(MigrationCapability c) {
        return config.capabilities().contains(c);
    }

    private long bytesSent() {
        return out == null ? 0 : out.writer().position() + multifdBytes.getAsLong();
    }

    private long elapsedMs() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private void setStatus(MigrationStatus s) {
        if (status == s) return;
        status = s;
        listener.statusChanged(s);
    }

    private void checkCancelled() throws Cancelled {
        if (cancelRequested) throw new Cancelled();
    }

    private void sleepMs(long ms) throws Cancelled {
        try {
            Thread.sleep(Math.max(1, ms));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Cancelled();
        }
    }

    private void publishStats() {
        RamStats ram = out == null ? null : out.ramStats();
        long total = memory.totalBytes();
        long transferred = bytesSent();
        long zero = ram == null ? 0 : ram.total(RamRecord.Kind.ZERO);
        long normal = ram == null ? 0 : ram.total(RamRecord.Kind.PAGE) + ram.total(RamRecord.Kind.COMPRESS_PAGE);
        long xbzrlePages = ram == null ? 0 : ram.total(RamRecord.Kind.XBZRLE);
        long downtimeBytes = downtimeStartBytes < 0 ? 0 : transferred - downtimeStartBytes;
        stats = new MigrationStats(total, remainingPages * PAGE, transferred, zero, normal, normal * PAGE,
                dirtySyncCount, convergence == null ? 0 : convergence.dirtyPagesRate(),
                convergence == null ? 0 : convergence.mbps(), convergence == null ? 0 : convergence.pagesPerSecond(),
                transferred - downtimeBytes, downtimeBytes, elapsedMs(), setupTimeMs, downtimeMs,
                convergence == null ? params.downtimeLimitMs() : convergence.expectedDowntimeMs(),
                has(MigrationCapability.XBZRLE), params.xbzrleCacheSizeBytes(), xbzrlePages,
                ram == null ? 0 : ram.xbzrleOverflow(),
                has(MigrationCapability.AUTO_CONVERGE) ? throttlePercent : -1, throttleUnsupported);
    }

    /** Unwinds the migration thread after {@link #cancel()}. */
    private static final class Cancelled extends Exception {
        Cancelled() {
            super(null, null, false, false);
        }
    }
}
