package io.livemig.kvm.java;

import io.livemig.kvm.AbGuest;
import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.GuestMachine;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.MachineState;
import io.livemig.kvm.ScriptedGuest;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pure-Java machine (accelerator {@code "java"}) for hosts without /dev/kvm: each vCPU is a Java thread
 * ({@link JavaVcpu}) that runs a {@link JavaWorkload} on the off-heap RAM block {@code "ram"} (gpa 0 = its
 * first byte) and marks the software dirty log after each store ({@link GuestAccess}).
 *
 * <p>The guest program runs on vCPU 0; other vCPUs idle. State entries: {@code "cpu<i>/<workload>"} per vCPU,
 * in vCPU order; they load into another JavaMachine (any process) built for the same guest, which continues
 * exactly where the source stopped.
 *
 * <p>Threads: {@link #pause}, {@link #resume}, {@link #saveState}, {@link #loadState}, {@link #start},
 * {@link #close} are synchronised on this machine (one control thread at a time, as {@link GuestMachine} says).
 */
public final class JavaMachine implements GuestMachine {
    public static final String ACCELERATOR = "java";
    public static final String RAM_BLOCK = "ram";
    private static final AtomicInteger IDS = new AtomicInteger();

    /** The current software dirty log, published to the vCPUs (volatile: null while no tracker is open). */
    static final class Tracking {
        volatile SoftwareDirtyLog log;
    }

    private final GuestMemory memory;
    private final RamBlock ram;
    private final MachineConfig config;
    private final Tracking tracking = new Tracking();
    private final List<JavaVcpu> vcpus;
    private final String name;
    private volatile RunState state = RunState.CREATED;
    private SoftwareDirtyTracker openTracker;

    private JavaMachine(GuestMemory memory, RamBlock ram, MachineConfig config, List<JavaWorkload> workloads) {
        this.memory = memory;
        this.ram = ram;
        this.config = config;
        this.name = "java" + IDS.incrementAndGet();
        List<JavaVcpu> list = new ArrayList<>();
        for (int i = 0; i < workloads.size(); i++) {
            GuestAccess access = new GuestAccess(ram.segment(), tracking, config.serial());
            list.add(new JavaVcpu(i, workloads.get(i), access, name));
        }
        this.vcpus = List.copyOf(list);
    }

    /**
     * A machine running {@code config.guest()} ({@code "ab"}, {@code "idle"} or {@code "scripted"}) on vCPU 0.
     * Validates everything before any thread exists; the accelerator in {@code config} is ignored.
     */
    public static JavaMachine create(GuestMemory memory, MachineConfig config) {
        RamBlock ram = ramBlock(memory);
        if (config.guest().equals("ab")) AbGuest.validateWindowEnd(config.abWindowEndBytes(), ram.sizeBytes());
        List<JavaWorkload> workloads = new ArrayList<>();
        workloads.add(switch (config.guest()) {
            case "ab" -> new AbWorkload(config.abWindowEndBytes());
            case "scripted" -> new ScriptedWriterWorkload();
            default -> new IdleWorkload();
        });
        for (int i = 1; i < config.vcpuCount(); i++) workloads.add(new IdleWorkload());
        return new JavaMachine(memory, ram, config, workloads);
    }

    /** A machine running the given workloads, one vCPU each (for tests and custom guests). */
    public static JavaMachine create(GuestMemory memory, MachineConfig config, List<JavaWorkload> workloads) {
        if (workloads.isEmpty()) throw new IllegalArgumentException("workloads=[], expected at least one vCPU");
        return new JavaMachine(memory, ramBlock(memory), config.withVcpuCount(workloads.size()), workloads);
    }

    private static RamBlock ramBlock(GuestMemory memory) {
        if (!memory.hasBlock(RAM_BLOCK)) {
            throw new IllegalArgumentException("the java machine needs a RAM block named '" + RAM_BLOCK
                    + "' (guest-physical 0); this GuestMemory has " + memory.blocks().stream().map(RamBlock::name).toList());
        }
        return memory.block(RAM_BLOCK);
    }

    @Override
    public String accelerator() {
        return ACCELERATOR;
    }

    @Override
    public GuestMemory memory() {
        return memory;
    }

    @Override
    public int vcpuCount() {
        return vcpus.size();
    }

    public MachineConfig config() {
        return config;
    }

    /** vCPU {@code i}'s workload (e.g. to read its position in tests). */
    public JavaWorkload workload(int i) {
        return vcpus.get(i).workload();
    }

    /** The scripted guest, when this machine was created with guest {@code "scripted"}. */
    public Optional<ScriptedGuest> scriptedGuest() {
        return vcpus.get(0).workload() instanceof ScriptedWriterWorkload s ? Optional.of(s) : Optional.empty();
    }

    public SerialSink serial() {
        return config.serial();
    }

    @Override
    public synchronized void start() {
        if (state != RunState.CREATED) throw new IllegalStateException("start(): machine " + name + " is " + state + ", expected CREATED");
        state = RunState.RUNNING;
        for (JavaVcpu v : vcpus) v.start();
    }

    @Override
    public synchronized void pause() {
        RunState s = runState();
        if (s != RunState.RUNNING) return; // CREATED: nothing runs yet; PAUSED: idempotent; FAILED/CLOSED: threads ended
        long deadline = System.nanoTime() + config.pauseTimeout().toNanos();
        long[] gens = new long[vcpus.size()];
        for (int i = 0; i < gens.length; i++) gens[i] = vcpus.get(i).requestPause();
        for (int i = 0; i < gens.length; i++) {
            JavaVcpu v = vcpus.get(i);
            if (!v.awaitPaused(gens[i], deadline)) {
                throw new IllegalStateException("pause(): " + v.describe() + " did not acknowledge within "
                        + config.pauseTimeout().toMillis() + " ms (machine " + name + "); the pause request stays set");
            }
        }
        if (state == RunState.RUNNING) state = RunState.PAUSED;
    }

    /** Lets the vCPUs run again; from CREATED it starts them (a machine created paused, e.g. for incoming state). */
    @Override
    public synchronized void resume() {
        RunState s = runState();
        switch (s) {
            case CREATED -> start();
            case PAUSED, RUNNING -> { // RUNNING too: a pause() that timed out left its request set on some vCPUs
                state = RunState.RUNNING;
                for (JavaVcpu v : vcpus) v.resume();
            }
            default -> throw new IllegalStateException("resume(): machine " + name + " is " + s
                    + failure().map(f -> ": " + f.getMessage()).orElse(""));
        }
    }

    @Override
    public RunState runState() {
        RunState s = state;
        if ((s == RunState.RUNNING || s == RunState.PAUSED) && failure().isPresent()) return RunState.FAILED;
        return s;
    }

    @Override
    public Optional<Throwable> failure() {
        for (JavaVcpu v : vcpus) {
            Throwable f = v.failure();
            if (f != null) return Optional.of(f);
        }
        return Optional.empty();
    }

    /**
     * Makes each vCPU sleep {@code percent}% of its time (after every 10 ms of running it sleeps
     * ran x p / (100 - p)), for auto-converge. 0 = full speed; at most 99. A pause/resume starts a new slice.
     */
    public void setThrottlePercent(int percent) {
        if (percent < 0 || percent > 99) throw new IllegalArgumentException("throttlePercent=" + percent + ", expected 0..99");
        for (JavaVcpu v : vcpus) v.setThrottlePercent(percent);
    }

    /** Steps executed by vCPU {@code i} so far (progress counter for tests and throttling checks). */
    public long steps(int i) {
        return vcpus.get(i).steps();
    }

    /** Nanoseconds vCPU {@code i} has slept for throttling so far. */
    public long throttledNanos(int i) {
        return vcpus.get(i).throttledNanos();
    }

    /** vCPU {@code i}'s thread name (also its /proc comm), e.g. for reading the host scheduler's statistics. */
    public String vcpuThreadName(int i) {
        return vcpus.get(i).threadName();
    }

    @Override
    public synchronized MachineState saveState() {
        RunState s = runState();
        if (s != RunState.PAUSED && s != RunState.CREATED) {
            throw new IllegalStateException("saveState(): machine " + name + " is " + s + ", expected PAUSED or CREATED");
        }
        List<MachineState.Entry> entries = new ArrayList<>();
        for (JavaVcpu v : vcpus) {
            entries.add(new MachineState.Entry(entryName(v), v.workload().saveState()));
        }
        return new MachineState(ACCELERATOR, entries);
    }

    @Override
    public synchronized void loadState(MachineState saved) {
        RunState s = runState();
        if (s != RunState.PAUSED && s != RunState.CREATED) {
            throw new IllegalStateException("loadState(): machine " + name + " is " + s + ", expected PAUSED or CREATED");
        }
        if (!saved.accelerator().equals(ACCELERATOR)) {
            throw new IllegalArgumentException("loadState(): state is for accelerator '" + saved.accelerator()
                    + "', this machine is '" + ACCELERATOR + "'");
        }
        long cpuEntries = saved.entries().stream().filter(e -> e.name().startsWith("cpu")).count();
        if (cpuEntries != vcpus.size()) {
            throw new IllegalArgumentException("loadState(): state has " + cpuEntries + " vCPU entries "
                    + saved.entries().stream().map(MachineState.Entry::name).toList() + ", this machine has "
                    + vcpus.size() + " vCPUs");
        }
        // Validate every entry before changing anything.
        List<byte[]> data = new ArrayList<>();
        for (JavaVcpu v : vcpus) data.add(saved.entry(entryName(v)).data());
        JavaWorkload ab = vcpus.getFirst().workload();
        if (ab instanceof AbWorkload) {
            AbWorkload probe = new AbWorkload(AbGuest.DEFAULT_WINDOW_END_BYTES);
            probe.loadState(data.getFirst());
            AbGuest.validateWindowEnd(probe.windowEndBytes(), ram.sizeBytes());
        }
        for (int i = 0; i < vcpus.size(); i++) vcpus.get(i).workload().loadState(data.get(i));
    }

    private static String entryName(JavaVcpu v) {
        return "cpu" + v.index() + "/" + v.workload().name();
    }

    /**
     * Only {@link DirtyTracker.Backend#SOFTWARE}; one tracker at a time. Writes by the vCPUs after this returns
     * are reported by a later {@link DirtyTracker#sync}.
     */
    @Override
    public synchronized DirtyTracker startDirtyTracking(DirtyTracker.Config trackerConfig) {
        if (trackerConfig.backend() != DirtyTracker.Backend.SOFTWARE) {
            throw new UnsupportedOperationException("dirty tracking '" + trackerConfig.backend().name().toLowerCase()
                    + "' needs KVM; the java machine supports: software");
        }
        if (state == RunState.CLOSED) throw new IllegalStateException("startDirtyTracking(): machine " + name + " is closed");
        if (openTracker != null) {
            throw new IllegalStateException("startDirtyTracking(): machine " + name + " already has an open tracker; close it first");
        }
        SoftwareDirtyLog log = new SoftwareDirtyLog(ram.sizeBytes() >>> SoftwareDirtyLog.PAGE_SHIFT);
        openTracker = new SoftwareDirtyTracker(this, ram, log);
        tracking.log = log; // publish: vCPU writes from here on mark it
        return openTracker;
    }

    synchronized void trackerClosed(SoftwareDirtyTracker t) {
        if (openTracker == t) {
            openTracker = null;
            tracking.log = null;
        }
    }

    /** Stops the vCPU threads (waits up to the pause timeout for each); does not close memory or the serial sink. */
    @Override
    public synchronized void close() {
        if (state == RunState.CLOSED) return;
        state = RunState.CLOSED;
        tracking.log = null;
        List<String> stuck = new ArrayList<>();
        for (JavaVcpu v : vcpus) {
            try {
                if (!v.close(config.pauseTimeout().toMillis())) stuck.add(v.describe());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stuck.add(v.describe() + " (interrupted while joining)");
            }
        }
        if (!stuck.isEmpty()) throw new IllegalStateException("close(): vCPU threads did not end: " + stuck);
    }

    @Override
    public String toString() {
        return "JavaMachine[" + name + ", " + config.guest() + ", " + vcpus.size() + " vCPU, " + runState() + "]";
    }
}
