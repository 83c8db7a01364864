package io.livemig.bench.dirty;

import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.ScriptedGuest;
import io.livemig.kvm.SerialSink;
import io.livemig.kvm.hw.KvmMachine;
import io.livemig.kvm.hw.MemorySlotPlan;
import io.livemig.kvm.hw.ScriptedGuestCode;
import io.livemig.memory.DirtyBitmap;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import io.livemig.sys.HostCapabilities;
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

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One dirty sync of a real {@link KvmMachine} for 1, 4 and 16 GiB of guest RAM with 0 %, 1 % or 100 % of the
 * pages dirty, per KVM backend: {@code get-log} (KVM_GET_DIRTY_LOG), {@code clear-log-256k} /
 * {@code clear-log-1g} (KVM_GET_DIRTY_LOG + KVM_CLEAR_DIRTY_LOG in 256 KiB or 1 GiB chunks, manual protect),
 * {@code ring-4096} / {@code ring-65536} (per-vCPU dirty ring of that many entries). One op = ns per sync;
 * pages per second is derived by {@code bench/dirty-sync.sh} from {@link DirtyPageSelection#dirtyPages}.
 *
 * <p>What one op contains, so the backends compare like for like (every dirty page reported and
 * re-protected): LOG and RING: {@link DirtyTracker#sync} (GET_DIRTY_LOG re-protects inside the ioctl; the
 * ring sync harvests and resets the rings). CLEAR: {@code sync} plus {@link DirtyTracker#clearBeforeSend} over
 * the whole block, i.e. the KVM_CLEAR_DIRTY_LOG calls for every chunk the sync found dirty, which is where the
 * chunk size matters (QEMU spreads those over the send; here they are summed).
 *
 * <p>Dirtying (not timed, {@code Level.Invocation}): the machine runs the scripted guest
 * ({@code guest="scripted"}, one vCPU) and it increments one byte in each chosen page (random, fixed seed,
 * {@link DirtyPageSelection}) through its command mailbox, so KVM sees real guest writes (EPT/write-protect faults, ring pushes). With a small ring the
 * vCPU exits with KVM_EXIT_DIRTY_RING_FULL during this dirtying and its run loop harvests into the tracker;
 * that cost lands in setup, and the timed sync reports those pages plus what is still in the ring.
 *
 * <p>At 0 % nothing is written between syncs, so the machine runs the idle guest instead (the scripted guest
 * is not needed, and the idle guest has no RAM limit): the op is the pure cost of scanning clean bitmaps.
 *
 * <p>Limits, checked at {@code @Setup} with the reason (the benchmark fails fast instead of measuring
 * something else): /dev/kvm must open read-write ({@link HostCapabilities#kvmUnavailable()}); KvmMachine
 * accepts the scripted guest only when all guest RAM lies below its scratch slot at
 * {@link ScriptedGuestCode#SCRATCH_GPA} (0xF0000000), which with the PC layout (RAM above 3 GiB continues at
 * 4 GiB) means at most 3 GiB of RAM; so 1 % and 100 % of 4 and 16 GiB cannot be dirtied by a guest today (that
 * needs a scripted guest whose mailbox sits elsewhere and that runs in long mode to reach RAM above 4 GiB).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class KvmDirtySyncBenchmark {
    private static final Duration GUEST_TIMEOUT = Duration.ofSeconds(60);

    @Param({"1", "4", "16"})
    public int ramGiB;

    @Param({"0", "1", "100"})
    public int dirtyPercent;

    @Param({"get-log", "clear-log-256k", "clear-log-1g", "ring-4096", "ring-65536"})
    public String tracker;

    private GuestMemory memory;
    private KvmMachine machine;
    private DirtyTracker dirtyTracker;
    private RamBlock ram;
    private long pages;
    private DirtyBitmap bitmap;
    private DirtyTracker.DirtyBitmaps bitmaps;
    private ScriptedGuest guest;
    private List<long[]> commands; // the chosen pages' gpas, in commands of at most MAX_ADDRESSES (empty at 0 %)
    private long expectedPages;
    private long reportedPages;

    /** A backend parameter, parsed once: which tracker, its CLEAR chunk and its ring size. */
    record TrackerChoice(DirtyTracker.Backend backend, long clearChunkBytes, int ringEntries) {
        static TrackerChoice parse(String name) {
            return switch (name) {
                case "get-log" -> new TrackerChoice(DirtyTracker.Backend.LOG, 256L << 10, 0);
                case "clear-log-256k" -> new TrackerChoice(DirtyTracker.Backend.CLEAR, 256L << 10, 0);
                case "clear-log-1g" -> new TrackerChoice(DirtyTracker.Backend.CLEAR, 1L << 30, 0);
                case "ring-4096" -> new TrackerChoice(DirtyTracker.Backend.RING, 256L << 10, 4096);
                case "ring-65536" -> new TrackerChoice(DirtyTracker.Backend.RING, 256L << 10, 65536);
                default -> throw new IllegalArgumentException("tracker='" + name
                        + "', expected get-log, clear-log-256k, clear-log-1g, ring-4096 or ring-65536");
            };
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        // Validate everything before anything is allocated.
        TrackerChoice choice = TrackerChoice.parse(tracker);
        HostCapabilities.kvmUnavailable().ifPresent(why -> {
            throw new UnsupportedOperationException("KVM dirty-sync benchmark (" + tracker + ", " + ramGiB + " GiB, "
                    + dirtyPercent + " %) needs /dev/kvm: " + why);
        });
        long ramBytes = (long) ramGiB << 30;
        pages = ramBytes / DirtyPageSelection.PAGE_BYTES;
        expectedPages = DirtyPageSelection.dirtyPages(pages, dirtyPercent);
        boolean dirtying = expectedPages > 0;
        if (dirtying && ramBytes > MemorySlotPlan.LOW_RAM_END) {
            throw new UnsupportedOperationException(dirtyPercent + " % of " + ramGiB + " GiB cannot be dirtied by a guest:"
                    + " KvmMachine runs the scripted guest only when all RAM lies below its scratch slot at 0x"
                    + Long.toHexString(ScriptedGuestCode.SCRATCH_GPA) + " (at most 3 GiB with the PC layout); larger"
                    + " RAM needs a scripted guest with its mailbox elsewhere, in long mode to reach RAM above 4 GiB");
        }
        long[] chosen = DirtyPageSelection.choose(pages, expectedPages);
        commands = new ArrayList<>();
        for (int from = 0; from < chosen.length; from += ScriptedGuestCode.MAX_ADDRESSES) {
            long[] gpas = Arrays.copyOfRange(chosen, from, Math.min(chosen.length, from + ScriptedGuestCode.MAX_ADDRESSES));
            for (int i = 0; i < gpas.length; i++) gpas[i] *= DirtyPageSelection.PAGE_BYTES; // gpa = page: "ram" starts at gpa 0, and <= 3 GiB has no hole
            commands.add(gpas);
        }

        memory = GuestMemory.builder().anonymous("ram", ramBytes).build();
        ram = memory.block("ram");
        MachineConfig config = MachineConfig.of("kvm", dirtying ? "scripted" : "idle", SerialSink.none());
        machine = KvmMachine.create(memory, config, choice.ringEntries() > 0
                ? KvmMachine.Options.withDirtyRing(choice.ringEntries()) : KvmMachine.Options.defaults());
        if (dirtying) {
            guest = machine.scriptedGuest().orElseThrow(() -> new IllegalStateException("KvmMachine has no scripted guest"));
        }
        machine.start();
        dirtyTracker = machine.startDirtyTracking(new DirtyTracker.Config(choice.backend(), choice.clearChunkBytes(),
                choice.ringEntries() > 0 ? choice.ringEntries() : 65536));
        bitmap = new DirtyBitmap(pages);
        bitmaps = block -> bitmap;
        // CLEAR starts all-set (KVM_DIRTY_LOG_INITIALLY_SET): one full round so the timed syncs see steady state.
        syncOnce();
    }

    /** Not timed: the sender consumed the last round; the guest writes this round's pages (none at 0 %). */
    @Setup(Level.Invocation)
    public void dirtyPages() {
        bitmap.clearAll();
        for (long[] gpas : commands) guest.incrementBytes(gpas, GUEST_TIMEOUT);
    }

    @Benchmark
    public long sync() {
        return reportedPages = syncOnce();
    }

    private long syncOnce() {
        long n = dirtyTracker.sync(bitmaps);
        dirtyTracker.clearBeforeSend(ram, 0, pages); // CLEAR: re-protect what was reported; others: no-op
        return n;
    }

    /**
     * Every written page must be reported (the contract); the guest's own bookkeeping writes (its stack and
     * mailbox live outside block "ram" but a backend may report them) may add a few.
     */
    @TearDown(Level.Invocation)
    public void checkReported() {
        if (reportedPages < expectedPages) {
            throw new IllegalStateException("sync() reported " + reportedPages + " pages, expected >= " + expectedPages
                    + " (" + tracker + ", ramGiB=" + ramGiB + ", dirtyPercent=" + dirtyPercent + ")");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            if (dirtyTracker != null) dirtyTracker.close();
        } finally {
            try {
                if (machine != null) machine.close();
            } finally {
                if (memory != null) memory.close();
            }
        }
    }
}
