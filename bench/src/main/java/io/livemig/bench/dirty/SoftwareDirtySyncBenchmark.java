package io.livemig.bench.dirty;

import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.SerialSink;
import io.livemig.kvm.java.JavaMachine;
import io.livemig.kvm.java.SoftwareDirtyTracker;
import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.TimeUnit;

/**
 * One {@link DirtyTracker#sync} of the Java machine's software dirty bitmap ({@link SoftwareDirtyTracker}) for
 * 1, 4 and 16 GiB of guest RAM with 0 %, 1 % or 100 % of the pages dirty. One op = one sync of the whole RAM
 * block into a {@link DirtyBitmap} (the real tracker's harvest: volatile read of every log word,
 * get-and-clear of the non-zero ones, one {@code DirtyBitmap.set} per dirty page). Time is ns per sync; pages
 * per second = {@link DirtyPageSelection#dirtyPages} / (ns per sync), derived by {@code bench/dirty-sync.sh}.
 *
 * <p>Setup, not timed ({@code Level.Invocation}: a sync takes 2 µs to 30 ms, far above the timestamp cost):
 * the destination bitmap is cleared (the sender consumed the previous round) and the chosen pages are marked
 * in the tracker's log with the log's own {@code mark(page)} — the volatile {@code getAndBitwiseOr} every
 * Java vCPU store ends with ({@code GuestAccess.writeByte}). The store itself is left out on purpose: it would
 * fault in every dirtied guest page (16 GiB of RSS at 100 % of 16 GiB on a shared 24 GiB host), and the sync
 * never reads guest RAM. {@code mark} is package-private in {@code io.livemig.kvm.java}, so it is reached
 * through a private lookup; the guest RAM is a {@code MAP_NORESERVE} anonymous block that is never touched.
 * The machine is created but never started: no vCPU thread runs, so nothing else marks the log.
 *
 * <p>Caveat: the marks are made by the benchmark thread just before the sync, so the log is warm in this
 * core's cache (32 KiB per GiB of RAM); with real vCPUs on other cores the first read of each written
 * word would miss.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SoftwareDirtySyncBenchmark {
    private static final String LOG_CLASS = "io.livemig.kvm.java.SoftwareDirtyLog";

    @Param({"1", "4", "16"})
    public int ramGiB;

    @Param({"0", "1", "100"})
    public int dirtyPercent;

    private GuestMemory memory;
    private JavaMachine machine;
    private DirtyTracker tracker;
    private DirtyBitmap bitmap;
    private DirtyTracker.DirtyBitmaps bitmaps;
    private long[] dirtyPages;
    private MethodHandle mark; // (long page)void, bound to this tracker's log
    private long expectedPages;
    private long reportedPages;

    @Setup(Level.Trial)
    public void setUp() throws Throwable {
        long ramBytes = (long) ramGiB << 30;
        try {
            memory = GuestMemory.builder().anonymous(JavaMachine.RAM_BLOCK, ramBytes).build();
        } catch (RuntimeException e) {
            throw new IllegalStateException("mapping " + ramGiB + " GiB of anonymous MAP_NORESERVE guest RAM was refused: " + e.getMessage(), e);
        }
        machine = JavaMachine.create(memory, MachineConfig.of("java", "idle", SerialSink.none()));
        tracker = machine.startDirtyTracking(DirtyTracker.Config.of(DirtyTracker.Backend.SOFTWARE));
        RamBlock ram = memory.block(JavaMachine.RAM_BLOCK);
        long pages = ram.sizeBytes() / DirtyPageSelection.PAGE_BYTES;
        bitmap = new DirtyBitmap(pages);
        bitmaps = block -> bitmap;
        expectedPages = DirtyPageSelection.dirtyPages(pages, dirtyPercent);
        dirtyPages = DirtyPageSelection.choose(pages, expectedPages);
        mark = markHandle(tracker);
        tracker.sync(bitmaps); // starts empty; makes sure the harvest path is the one measured
    }

    /** {@code SoftwareDirtyLog.mark(long)} of the tracker's log (the call a vCPU makes after each store). */
    private static MethodHandle markHandle(DirtyTracker tracker) throws Throwable {
        Class<?> logClass = Class.forName(LOG_CLASS);
        MethodHandles.Lookup trackerLookup = MethodHandles.privateLookupIn(SoftwareDirtyTracker.class, MethodHandles.lookup());
        Object log = trackerLookup.findGetter(SoftwareDirtyTracker.class, "log", logClass).invoke(tracker);
        MethodHandles.Lookup logLookup = MethodHandles.privateLookupIn(logClass, MethodHandles.lookup());
        return logLookup.findVirtual(logClass, "mark", MethodType.methodType(void.class, long.class))
                .bindTo(log)
                .asType(MethodType.methodType(void.class, long.class));
    }

    /** Not timed: the sender consumed the last round; the "vCPU" marks this round's pages. */
    @Setup(Level.Invocation)
    public void dirtyPages() throws Throwable {
        bitmap.clearAll();
        for (long p : dirtyPages) mark.invokeExact(p);
    }

    @Benchmark
    public long sync() {
        return reportedPages = tracker.sync(bitmaps);
    }

    /** The software tracker reports exactly the marked pages; anything else means the measurement is wrong. */
    @TearDown(Level.Invocation)
    public void checkReported() {
        if (reportedPages != expectedPages) {
            throw new IllegalStateException("sync() reported " + reportedPages + " pages, expected " + expectedPages
                    + " (ramGiB=" + ramGiB + ", dirtyPercent=" + dirtyPercent + ")");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (tracker != null) tracker.close();
        if (machine != null) machine.close();
        if (memory != null) memory.close();
    }
}
