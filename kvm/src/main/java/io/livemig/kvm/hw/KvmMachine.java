package io.livemig.kvm.hw;

import io.livemig.kvm.AbGuest;
import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.GuestMachine;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.MachineState;
import io.livemig.kvm.ScriptedGuest;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.RamBlock;
import io.livemig.sys.LibC;
import io.livemig.sys.abi.ErrnoH;
import io.livemig.sys.abi.KvmH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The {@code "kvm"} {@link GuestMachine}: guest RAM from {@link GuestMemory} mapped as KVM memory slots
 * ({@link MemorySlotPlan#pcLayout}, block {@code "ram"} first at guest-physical 0), an in-kernel LAPIC per vCPU,
 * one platform run-loop thread per vCPU, a serial sink on port 0x3F8 and the A20 latch on port 0x92.
 *
 * <h2>Pause and resume</h2>
 * {@link #pause()} sets {@code pauseRequested} (volatile), then kicks every vCPU ({@link KickSignal}:
 * {@code kvm_run.immediate_exit = 1}, then tgkill). A vCPU parks only after KVM_RUN returned EINTR: by then KVM
 * has completed any pending port/MMIO read (immediate-exit re-entry), so the captured state is consistent.
 * pause() returns once every run loop has parked (or died); the wait is bounded by the config's pauseTimeout.
 * {@link #resume()} clears the flag and wakes the loops; each clears {@code immediate_exit} with a volatile
 * store and re-reads {@code pauseRequested} before re-entering, so a pause racing with the resume is never lost
 * (and its signal stays pending anyway, making the next KVM_RUN return EINTR).
 *
 * <h2>Threads</h2>
 * One run-loop thread per vCPU ("vcpu-N"); the control thread calls start/pause/resume/saveState/loadState/
 * startDirtyTracking/close, one at a time (GuestMachine's contract). {@code lock} guards the run states and
 * parking; it is never held across KVM_RUN.
 */
public final class KvmMachine implements GuestMachine {

    /**
     * KVM-only options that must be fixed before the vCPUs exist.
     *
     * @param dirtyRingEntries entries per vCPU dirty ring, 0 for none. With a ring, KVM (6.1) refuses
     *                         KVM_GET_DIRTY_LOG on the VM, so LOG and CLEAR tracking need a machine without one.
     */
    public record Options(int dirtyRingEntries) {
        public Options {
            if (dirtyRingEntries != 0) DirtyRingHarvester.validateEntries(dirtyRingEntries, Long.MAX_VALUE);
        }

        public static Options defaults() {
            return new Options(0);
        }

        public static Options withDirtyRing(int entries) {
            return new Options(entries);
        }
    }

    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(10);
    private static final int COM1_LSR = AbGuest.SERIAL_PORT + 5;
    /** LSR: transmitter holding register and shift register empty; a polling guest may always send. */
    private static final int LSR_THR_EMPTY = 0x60;
    private static final VarHandle INT = JAVA_INT.varHandle();

    private final MachineConfig config;
    private final GuestMemory memory;
    private final SerialSink serial;
    private final MemorySlotPlan plan;
    private final Kvm kvm;
    private final Vm vm;
    private final List<Vcpu> vcpus = new ArrayList<>();
    private final List<VcpuStateIo> stateIo = new ArrayList<>();
    private final Runner[] runners;
    private final Arena scratchArena;
    private final MemorySegment scratch;
    private final ScriptedGuest scripted;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private volatile boolean pauseRequested;
    private volatile boolean closing;
    private volatile RunState runState = RunState.CREATED;
    private volatile Throwable failure;
    /** Last value written to port 0x92 (A20 gate is always on under KVM; the latch is kept for the guest to read back). */
    private volatile int port92;
    /** The dirty tracker currently active (at most one), read by vCPU threads on KVM_EXIT_DIRTY_RING_FULL. */
    private volatile KvmDirtyRingTracker activeRing;
    private DirtyTracker activeTracker;
    /** Scripted guest: the last command seq the guest reported done. */
    private int scriptDoneSeq;

    private KvmMachine(GuestMemory memory, MachineConfig config, Options options) {
        this.config = config;
        this.memory = memory;
        this.serial = config.serial();
        // ---- validate everything before allocating anything -------------------------------------------
        if (!config.accelerator().equals("kvm") && !config.accelerator().equals("auto")) {
            throw new IllegalArgumentException("accelerator='" + config.accelerator() + "', expected kvm (or auto)");
        }
        if (!memory.hasBlock("ram")) throw new IllegalArgumentException("guest memory has no block 'ram' (guest-physical 0)");
        RamBlock ram = memory.block("ram");
        if (config.guest().equals("ab")) {
            AbGuest.validateWindowEnd(config.abWindowEndBytes(), ram.sizeBytes());
            AbBootSector.validateWindowEnd(config.abWindowEndBytes());
        }
        List<MemorySlotPlan.Block> blocks = new ArrayList<>();
        blocks.add(new MemorySlotPlan.Block("ram", ram.sizeBytes(), ram.pageSizeBytes()));
        for (RamBlock b : memory.blocks()) {
            if (!b.name().equals("ram")) blocks.add(new MemorySlotPlan.Block(b.name(), b.sizeBytes(), b.pageSizeBytes()));
        }
        MemorySlotPlan p = MemorySlotPlan.pcLayout(blocks, Integer.MAX_VALUE);
        if (p.slots().getFirst().endGpa() < IdleGuest.LOAD_GPA + 512) {
            throw new IllegalArgumentException("block 'ram' is " + ram.sizeBytes() + " bytes, expected at least 64 KiB");
        }
        if (config.guest().equals("scripted") && p.endGpa() > ScriptedGuestCode.SCRATCH_GPA) {
            throw new IllegalArgumentException("guest 'scripted' needs RAM below 0x" + Long.toHexString(ScriptedGuestCode.SCRATCH_GPA));
        }

        // ---- build: /dev/kvm -> VM -> slots -> vCPUs ---------------------------------------------------
        Kvm k = Kvm.open();
        Vm v = null;
        Arena sa = null;
        try {
            v = k.createVm();
            this.plan = new MemorySlotPlan(p.slots(), v.maxSlots() - 1); // one id stays free for the scratch slot
            v.setTssAddr(MemorySlotPlan.TSS_GPA);
            if (options.dirtyRingEntries() > 0) v.enableDirtyRing(options.dirtyRingEntries());
            v.createLocalApics();
            for (MemorySlotPlan.Slot s : plan.slots()) {
                RamBlock b = memory.block(s.blockName());
                v.setMemorySlot(s, b.segment().asSlice(s.blockOffset(), s.sizeBytes()), 0);
            }
            MemorySegment sc = null;
            if (config.guest().equals("scripted")) {
                sa = Arena.ofShared();
                sc = sa.allocate(ScriptedGuestCode.SCRATCH_BYTES, 4096);
                MemorySlotPlan.Slot ss = new MemorySlotPlan.Slot(plan.slots().size(), ScriptedGuestCode.SCRATCH_GPA,
                        ScriptedGuestCode.SCRATCH_BYTES, "(scratch)", 0, 4096);
                v.setMemorySlot(ss, sc, 0);
            }
            this.scratchArena = sa;
            this.scratch = sc;
            VcpuStateIo.Features features = VcpuStateIo.Features.probe(v);
            int[] msrList = k.msrIndexList();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment cpuid = k.supportedCpuid(arena);
                for (int i = 0; i < config.vcpuCount(); i++) {
                    Vcpu c = v.createVcpu(i, cpuid);
                    vcpus.add(c);
                    stateIo.add(new VcpuStateIo(c, features, msrList));
                }
            }
            loadGuest();
        } catch (RuntimeException e) {
            for (Vcpu c : vcpus) c.close();
            if (sa != null) sa.close();
            if (v != null) v.close();
            k.close();
            throw e;
        }
        this.kvm = k;
        this.vm = v;
        this.runners = new Runner[vcpus.size()];
        this.scripted = config.guest().equals("scripted") ? new KvmScriptedGuest() : null;
    }

    /** The factory {@link io.livemig.kvm.Machines} calls: no dirty ring (LOG and CLEAR tracking available). */
    public static GuestMachine create(GuestMemory memory, MachineConfig config) {
        return new KvmMachine(memory, config, Options.defaults());
    }

    /** With KVM-only options (a dirty ring for RING tracking). */
    public static KvmMachine create(GuestMemory memory, MachineConfig config, Options options) {
        return new KvmMachine(memory, config, options);
    }

    /** Copies the guest program into RAM and points vCPU 0 at it (real mode at 0:7C00, or 32-bit for scripted). */
    private void loadGuest() {
        Vcpu bsp = vcpus.getFirst();
        GuestImage image = switch (config.guest()) {
            case "ab" -> AbBootSector.image(config.abWindowEndBytes());
            case "idle" -> IdleGuest.image();
            case "scripted" -> ScriptedGuestCode.image();
            default -> throw new IllegalArgumentException("guest='" + config.guest() + "', expected ab, idle or scripted");
        };
        byte[] code = image.bytes();
        if (image.loadGpa() >= ScriptedGuestCode.SCRATCH_GPA) {
            MemorySegment.copy(code, 0, scratch, JAVA_BYTE, image.loadGpa() - ScriptedGuestCode.SCRATCH_GPA, code.length);
        } else {
            MemorySegment.copy(code, 0, memory.block("ram").segment(), JAVA_BYTE, image.loadGpa(), code.length);
        }
        byte[] sregs = bsp.get(KvmH.KVM_GET_SREGS, KvmH.kvm_sregs.SIZE);
        MemorySegment s = MemorySegment.ofArray(sregs);
        if (image.name().equals("scripted")) {
            InitialState.flatProtectedMode(s);
        } else {
            InitialState.realModeAtZero(s);
        }
        bsp.set(KvmH.KVM_SET_SREGS, sregs);
        bsp.set(KvmH.KVM_SET_REGS, InitialState.regs(image.entryGpa()));
    }

    // ---- GuestMachine ---------------------------------------------------------------------------------------

    @Override
    public String accelerator() {
        return "kvm";
    }

    @Override
    public GuestMemory memory() {
        return memory;
    }

    @Override
    public int vcpuCount() {
        return vcpus.size();
    }

    /** The KVM slots of this machine's RAM. */
    public MemorySlotPlan slotPlan() {
        return plan;
    }

    public Vm vm() {
        return vm;
    }

    /** The scripted guest, when the machine was created with guest "scripted". */
    public Optional<ScriptedGuest> scriptedGuest() {
        return Optional.ofNullable(scripted);
    }

    @Override
    public void start() {
        CountDownLatch ready = new CountDownLatch(vcpus.size());
        lock.lock();
        try {
            if (runState != RunState.CREATED) throw new IllegalStateException("start() in state " + runState + ", expected CREATED");
            for (int i = 0; i < vcpus.size(); i++) {
                runners[i] = new Runner(vcpus.get(i), ready);
                runners[i].thread = Thread.ofPlatform().name("vcpu-" + i).daemon(true).unstarted(runners[i]);
            }
            runState = RunState.RUNNING;
            for (Runner r : runners) r.thread.start();
        } finally {
            lock.unlock();
        }
        try {
            if (!ready.await(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("vCPU threads did not start within " + START_TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting vCPUs", e);
        }
    }

    @Override
    public void pause() {
        lock.lock();
        try {
            if (runState != RunState.RUNNING) return; // CREATED: nothing runs yet; PAUSED/FAILED/CLOSED: already stopped
            pauseRequested = true;
            kickAll();
            long deadline = System.nanoTime() + config.pauseTimeout().toNanos();
            while (true) {
                int notParked = -1;
                for (Runner r : runners) {
                    if (!r.parked && !r.dead) {
                        notParked = r.vcpu.id();
                        break;
                    }
                }
                if (notParked < 0) break;
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException("pause(): vCPU " + notParked + " did not stop within " + config.pauseTimeout());
                }
                try {
                    changed.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while pausing", e);
                }
            }
            if (runState == RunState.RUNNING) runState = RunState.PAUSED;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Kicks every live vCPU. Only with {@code lock} held: a run loop marks itself dead under the same lock and then
     * drains its pending kicks, so no kick can arrive after that drain. (This matters: when a Java thread exits,
     * HotSpot restores the signal mask the thread was created with, which unblocks the kick signal; a kick still
     * pending then would be delivered with its default action and end the process.)
     */
    private void kickAll() {
        if (!lock.isHeldByCurrentThread()) throw new IllegalStateException("kickAll() without the machine lock");
        for (Runner r : runners) {
            if (r == null || r.dead) continue;
            r.vcpu.requestImmediateExit();
            VarHandle.fullFence(); // immediate_exit visible before the signal can be consumed
            int tid = r.tid;
            if (tid > 0) KickSignal.send(tid);
        }
    }

    @Override
    public void resume() {
        lock.lock();
        try {
            if (runState != RunState.PAUSED) return;
            pauseRequested = false;
            runState = RunState.RUNNING;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public RunState runState() {
        return runState;
    }

    @Override
    public Optional<Throwable> failure() {
        return Optional.ofNullable(failure);
    }

    @Override
    public MachineState saveState() {
        requireStopped("saveState");
        List<MachineState.Entry> entries = new ArrayList<>();
        for (VcpuStateIo io : stateIo) entries.addAll(io.capture());
        entries.add(new MachineState.Entry(KvmStateFormat.PORT92, KvmStateFormat.wrap(new byte[] {(byte) port92})));
        entries.add(new MachineState.Entry(KvmStateFormat.CLOCK, KvmStateFormat.wrap(vm.getClock())));
        return new MachineState(KvmStateFormat.ACCELERATOR, entries);
    }

    @Override
    public void loadState(MachineState state) {
        requireStopped("loadState");
        if (!state.accelerator().equals(KvmStateFormat.ACCELERATOR)) {
            throw new IllegalArgumentException("state accelerator='" + state.accelerator() + "', expected kvm");
        }
        for (MachineState.Entry e : state.entries()) {
            if (e.name().startsWith("cpu")) {
                int slash = e.name().indexOf('/');
                int cpu = Integer.parseInt(e.name().substring(3, slash));
                if (cpu >= vcpus.size()) {
                    throw new IllegalArgumentException("state entry '" + e.name() + "' is for vCPU " + cpu + ", this machine has "
                            + vcpus.size());
                }
            }
        }
        for (VcpuStateIo io : stateIo) io.restore(state);
        port92 = KvmStateFormat.unwrap(state.entry(KvmStateFormat.PORT92), 1, 0)[0] & 0xFF;
        vm.setClock(KvmStateFormat.unwrap(state.entry(KvmStateFormat.CLOCK), KvmH.kvm_clock_data.SIZE, 0)); // last: see VcpuStateIo
    }

    private void requireStopped(String what) {
        RunState s = runState;
        if (s != RunState.PAUSED && s != RunState.CREATED && s != RunState.FAILED) {
            throw new IllegalStateException(what + "() in state " + s + ", expected PAUSED or CREATED");
        }
    }

    @Override
    public DirtyTracker startDirtyTracking(DirtyTracker.Config config) {
        lock.lock();
        try {
            if (runState == RunState.CLOSED) throw new IllegalStateException("machine is closed");
            if (activeTracker != null) throw new IllegalStateException("a dirty tracker (" + activeTracker.backend() + ") is already active");
            DirtyTracker t = switch (config.backend()) {
                case LOG, CLEAR -> {
                    if (vm.dirtyRingEntries() > 0) {
                        throw new UnsupportedOperationException(config.backend() + ": this machine uses the KVM dirty ring, and KVM"
                                + " refuses KVM_GET_DIRTY_LOG on such a VM; create it without Options.dirtyRingEntries");
                    }
                    yield new KvmDirtyLogTracker(vm, memory, plan, config.backend(), config.clearChunkBytes(), this::trackerClosed);
                }
                case RING -> {
                    if (vm.dirtyRingEntries() == 0) {
                        throw new UnsupportedOperationException("RING: the dirty ring must be enabled before the vCPUs exist;"
                                + " create the machine with KvmMachine.Options.withDirtyRing(" + config.ringEntries() + ")");
                    }
                    if (config.ringEntries() != vm.dirtyRingEntries()) {
                        throw new IllegalArgumentException("ringEntries=" + config.ringEntries() + ", expected "
                                + vm.dirtyRingEntries() + " (the ring size this machine was created with)");
                    }
                    KvmDirtyRingTracker r = new KvmDirtyRingTracker(vm, vcpus, memory, plan, this::trackerClosed);
                    activeRing = r;
                    yield r;
                }
                case SOFTWARE -> throw new UnsupportedOperationException("SOFTWARE dirty tracking is the java machine's; KVM offers LOG, CLEAR, RING");
            };
            activeTracker = t;
            return t;
        } finally {
            lock.unlock();
        }
    }

    private void trackerClosed(DirtyTracker t) {
        lock.lock();
        try {
            if (activeTracker == t) activeTracker = null;
            if (activeRing == t) activeRing = null;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (runState == RunState.CLOSED) return;
            closing = true;
            pauseRequested = true;
            changed.signalAll();
            kickAll();
        } finally {
            lock.unlock();
        }
        RuntimeException first = null;
        for (Runner r : runners) {
            if (r == null) continue;
            long deadline = System.nanoTime() + JOIN_TIMEOUT.toNanos();
            try {
                while (r.thread.isAlive() && System.nanoTime() < deadline) {
                    lock.lock();
                    try {
                        kickAll();
                    } finally {
                        lock.unlock();
                    }
                    r.thread.join(Duration.ofMillis(50));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (r.thread.isAlive()) {
                first = new IllegalStateException("vCPU thread " + r.thread.getName() + " did not stop within " + JOIN_TIMEOUT
                        + "; its fds are left open");
            }
        }
        if (first != null) {
            runState = RunState.CLOSED;
            throw first;
        }
        DirtyTracker t = activeTracker;
        if (t != null) t.close();
        for (Vcpu c : vcpus) c.close();
        vm.close();
        kvm.close();
        if (scratchArena != null) scratchArena.close();
        runState = RunState.CLOSED;
    }

    // ---- the run loop ---------------------------------------------------------------------------------------

    /** One vCPU's run loop (runs on its own platform thread: the kick targets its kernel tid). */
    private final class Runner implements Runnable {
        final Vcpu vcpu;
        final CountDownLatch ready;
        Thread thread;
        volatile int tid;
        volatile boolean parked;
        volatile boolean dead;

        Runner(Vcpu vcpu, CountDownLatch ready) {
            this.vcpu = vcpu;
            this.ready = ready;
        }

        @Override
        public void run() {
            try {
                long kvmMask = KickSignal.blockInCurrentThread();
                vcpu.setSignalMask(kvmMask);
                tid = LibC.gettid();
            } catch (RuntimeException e) {
                fail(e);
                exitThread();
                ready.countDown();
                return;
            }
            ready.countDown();
            try {
                loop();
            } catch (UnexpectedExitException e) {
                fail(e);
            } catch (RuntimeException | Error e) {
                fail(new UnexpectedExitException(vcpu.id(), "run loop error: " + e, vcpu.ripOrMinusOne(), null));
            } finally {
                exitThread();
            }
        }

        /** Marks this loop dead (no kick is sent after this) and consumes kicks already pending; see kickAll(). */
        private void exitThread() {
            lock.lock();
            try {
                dead = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
            KickSignal.drain();
        }

        private void loop() {
            while (true) {
                // Park only here: after the last KVM_RUN returned EINTR (or before the first), so no exit is half done.
                if (pauseRequested || closing) {
                    if (!park()) return;
                    continue;
                }
                int r = vcpu.run();
                if (r == -ErrnoH.EINTR || (r == 0 && vcpu.exitReason() == KvmH.KVM_EXIT_INTR)) {
                    KickSignal.drain();
                    if (!pauseRequested && !closing) {
                        vcpu.clearImmediateExit();
                        VarHandle.fullFence();
                        if (pauseRequested || closing) vcpu.requestImmediateExit(); // a pause raced the clear
                    }
                    continue;
                }
                if (r == -ErrnoH.EAGAIN) continue;
                if (r < 0) {
                    throw new UnexpectedExitException(vcpu.id(), "KVM_RUN failed: " + io.livemig.sys.Errno.describe(-r), vcpu.ripOrMinusOne(), null);
                }
                handleExit();
                // Re-enter even when a pause is pending: immediate_exit makes KVM complete this exit's I/O and
                // return EINTR at once, and only then is the state consistent enough to park.
            }
        }

        /** Parks until resumed or closed; false when closing. */
        private boolean park() {
            lock.lock();
            try {
                parked = true;
                changed.signalAll();
                while (pauseRequested && !closing) changed.awaitUninterruptibly();
                parked = false;
                if (closing) return false;
            } finally {
                lock.unlock();
            }
            vcpu.clearImmediateExit();
            VarHandle.fullFence();
            if (pauseRequested || closing) vcpu.requestImmediateExit();
            return true;
        }

        private void handleExit() {
            int reason = vcpu.exitReason();
            MemorySegment run = vcpu.runStruct();
            switch (reason) {
                case KvmH.KVM_EXIT_IO -> portIo(run);
                case KvmH.KVM_EXIT_MMIO -> {
                    // No MMIO devices: reads see all-ones (an unassigned bus), writes are dropped.
                    if (run.get(JAVA_BYTE, KvmH.kvm_run.mmio_is_write) == 0) {
                        int len = run.get(JAVA_INT, KvmH.kvm_run.mmio_len);
                        for (int i = 0; i < Math.min(len, 8); i++) run.set(JAVA_BYTE, KvmH.kvm_run.mmio_data + i, (byte) 0xFF);
                    }
                }
                case KvmH.KVM_EXIT_HLT -> waitWhileHalted(); // only without an in-kernel LAPIC
                case KvmH.KVM_EXIT_DIRTY_RING_FULL -> ringFull(vcpu);
                case KvmH.KVM_EXIT_SHUTDOWN -> throw exit(reason, "triple fault or shutdown");
                case KvmH.KVM_EXIT_FAIL_ENTRY -> throw exit(reason, "hardware_entry_failure_reason=0x"
                        + Long.toHexString(run.get(JAVA_LONG, KvmH.kvm_run.fail_entry_hardware_entry_failure_reason))
                        + ", cpu=" + run.get(JAVA_INT, KvmH.kvm_run.fail_entry_cpu));
                case KvmH.KVM_EXIT_INTERNAL_ERROR -> {
                    int sub = run.get(JAVA_INT, KvmH.kvm_run.internal_suberror);
                    int nd = Math.min(run.get(JAVA_INT, KvmH.kvm_run.internal_ndata), (int) KvmH.kvm_run.internal_data_LEN);
                    StringBuilder d = new StringBuilder("suberror=" + sub + ", data=[");
                    for (int i = 0; i < nd; i++) {
                        if (i > 0) d.append(", ");
                        d.append("0x").append(Long.toHexString(run.get(JAVA_LONG, KvmH.kvm_run.internal_data + 8L * i)));
                    }
                    throw exit(reason, d.append(']').toString());
                }
                case KvmH.KVM_EXIT_SYSTEM_EVENT -> throw exit(reason, "type=" + run.get(JAVA_INT, KvmH.kvm_run.system_event_type));
                default -> throw exit(reason, "unexpected exit");
            }
        }

        private UnexpectedExitException exit(int reason, String detail) {
            return new UnexpectedExitException(vcpu.id(), KvmExits.name(reason), vcpu.ripOrMinusOne(), detail);
        }

        private void portIo(MemorySegment run) {
            int dir = run.get(JAVA_BYTE, KvmH.kvm_run.io_direction);
            int size = run.get(JAVA_BYTE, KvmH.kvm_run.io_size);
            int port = Short.toUnsignedInt(run.get(JAVA_SHORT, KvmH.kvm_run.io_port));
            int count = run.get(JAVA_INT, KvmH.kvm_run.io_count);
            long off = run.get(JAVA_LONG, KvmH.kvm_run.io_data_offset);
            for (int i = 0; i < count; i++) {
                long at = off + (long) i * size;
                if (dir == KvmH.KVM_EXIT_IO_OUT) {
                    int value = switch (size) {
                        case 1 -> Byte.toUnsignedInt(run.get(JAVA_BYTE, at));
                        case 2 -> Short.toUnsignedInt(run.get(JAVA_SHORT.withByteAlignment(1), at));
                        default -> run.get(JAVA_INT.withByteAlignment(1), at);
                    };
                    portOut(port, value);
                } else {
                    int value = portIn(port);
                    for (int b = 0; b < size; b++) run.set(JAVA_BYTE, at + b, (byte) (value >>> (8 * b)));
                }
            }
        }
    }

    private void portOut(int port, int value) {
        if (port == AbGuest.SERIAL_PORT) {
            serial.write(value & 0xFF);
        } else if (port == AbBootSector.A20_PORT) {
            port92 = value & 0xFF; // KVM has no A20 gate (always enabled); bit 0 (fast reset) is not wired
        } else if (port == ScriptedGuestCode.DONE_PORT && scripted != null) {
            lock.lock();
            try {
                scriptDoneSeq = value;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
        // Other ports: no device, writes are dropped (as on an empty ISA bus).
    }

    private int portIn(int port) {
        if (port == AbBootSector.A20_PORT) return port92;
        if (port == COM1_LSR) return LSR_THR_EMPTY;
        return 0xFFFF_FFFF; // empty ISA bus
    }

    /** KVM_EXIT_HLT (only without an in-kernel LAPIC): nothing can wake the guest, so wait for pause or close. */
    private void waitWhileHalted() {
        lock.lock();
        try {
            while (!pauseRequested && !closing) changed.awaitUninterruptibly();
        } finally {
            lock.unlock();
        }
    }

    /** KVM_EXIT_DIRTY_RING_FULL: harvest this vCPU's ring into the tracker (nothing is lost), reset, re-enter. */
    private void ringFull(Vcpu vcpu) {
        KvmDirtyRingTracker r = activeRing;
        if (r != null) {
            r.reapAfterRingFull(vcpu.id());
        } else {
            KvmDirtyRingTracker.discardAndReset(vm, vcpu);
        }
    }

    private void fail(Throwable t) {
        lock.lock();
        try {
            if (failure == null) failure = t;
            runState = closing ? runState : RunState.FAILED;
            pauseRequested = true; // an unexpected exit stops the whole VM
            changed.signalAll();
            if (!closing) kickAll();
        } finally {
            lock.unlock();
        }
    }

    // ---- the scripted guest -----------------------------------------------------------------------------------

    private final class KvmScriptedGuest implements ScriptedGuest {
        private int seq;

        @Override
        public void incrementBytes(long[] gpas, Duration timeout) {
            if (gpas.length > ScriptedGuestCode.MAX_ADDRESSES) {
                throw new IllegalArgumentException(gpas.length + " addresses, expected <= " + ScriptedGuestCode.MAX_ADDRESSES);
            }
            for (long g : gpas) {
                if (g < 0 || g >= plan.endGpa() || plan.slotAt(g) == null || g > 0xFFFF_FFFFL) {
                    throw new IllegalArgumentException("gpa=0x" + Long.toHexString(g) + ", expected guest RAM below 4 GiB");
                }
            }
            long mb = ScriptedGuestCode.MAILBOX_OFFSET;
            for (int i = 0; i < gpas.length; i++) scratch.set(JAVA_INT, ScriptedGuestCode.LIST_OFFSET + 4L * i, (int) gpas[i]);
            scratch.set(JAVA_INT, mb + 4, gpas.length);
            scratch.set(JAVA_INT, mb + 8, (int) (ScriptedGuestCode.SCRATCH_GPA + ScriptedGuestCode.LIST_OFFSET));
            int want = ++seq;
            INT.setRelease(scratch, mb, want); // publish: the list and count are visible before the new seq
            long deadline = System.nanoTime() + timeout.toNanos();
            lock.lock();
            try {
                while (scriptDoneSeq != want) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0 || runState == RunState.FAILED || runState == RunState.CLOSED) {
                        throw new IllegalStateException("scripted guest did not finish command " + want + " (" + gpas.length
                                + " addresses) within " + timeout + "; machine " + runState + ", last done " + scriptDoneSeq);
                    }
                    try {
                        changed.awaitNanos(left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted", e);
                    }
                }
            } finally {
                lock.unlock();
            }
        }
    }
}
