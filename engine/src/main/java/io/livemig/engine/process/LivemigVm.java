package io.livemig.engine.process;

import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpError;
import io.livemig.kvm.GuestMachine;
import io.livemig.kvm.MachineConfig;
import io.livemig.kvm.Machines;
import io.livemig.kvm.SerialSink;
import io.livemig.memory.GuestMemory;
import io.livemig.memory.Prefault;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One VM of a {@code livemig run} process: guest RAM (one block named {@code ram}, guest-physical 0..size),
 * the machine that runs on it ({@code null} for {@code --machine none}), and QEMU's run state.
 *
 * <p>Threads: called by the QMP thread and the migration thread; every state change holds this object's
 * monitor, which is never held across I/O (events are handed to a non-blocking {@link EventSink}).
 */
public final class LivemigVm implements AutoCloseable {
    /** Name of the one RAM block, as QEMU's {@code -M none -m SIZE} calls it. */
    public static final String RAM_BLOCK = "ram";

    private final RunOptions options;
    private final GuestMemory memory;
    private final SerialSink serial;
    private final GuestMachine machine;
    private final EventSink events;
    /** QEMU RunState name: prelaunch, running, paused, inmigrate, finish-migrate, postmigrate, shutdown. */
    private String runState;
    /** Start the guest once an incoming migration completes (QEMU's autostart; -S clears it). */
    private boolean autostart;
    /**
     * RAM is still what the kernel mapped (all zero, never written): anonymous backing, no --load, guest
     * never started, no QMP write, no earlier incoming load. An incoming load uses it once, to skip zero
     * pages without touching them.
     */
    private boolean freshRam;
    /**
     * The background prefault of guest RAM ({@code --prealloc}), or null. It only populates pages (no content
     * changes), so it may overlap an incoming load, guest writes and {@link #freshRam}; {@link #close()} joins it
     * before RAM is unmapped.
     */
    private final Thread prefault;
    /** Milliseconds the prefault took, -1 while running or when there is none; written once by its thread. */
    private volatile long prefaultMillis = -1;

    private LivemigVm(RunOptions options, GuestMemory memory, SerialSink serial, GuestMachine machine, EventSink events) {
        this.prefault = options.preallocEffective() ? startPrefault(memory) : null;
        this.options = options;
        this.memory = memory;
        this.serial = serial;
        this.machine = machine;
        this.events = events;
        this.autostart = !options.startPaused();
        this.runState = options.incoming().isPresent() ? "inmigrate" : "prelaunch";
        this.freshRam = options.memPath().isEmpty() && options.loads().isEmpty();
    }

    /** Threads populating RAM: one per CPU (the kernel's page allocation scales), at most 8. */
    static int prefaultThreads() {
        return Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors()));
    }

    /**
     * Populates every RAM block writable ({@link Prefault#populateWrite(io.livemig.memory.RamBlock, int)}) on a
     * daemon thread started now, so an incoming connection is accepted at once and the load overlaps it; the time
     * is logged on stderr so benchmarks can count it.
     */
    private Thread startPrefault(GuestMemory mem) {
        int threads = prefaultThreads();
        return Thread.ofPlatform().name("livemig-prefault").daemon().start(() -> {
            long t0 = System.nanoTime();
            try {
                Prefault.Method method = null;
                for (io.livemig.memory.RamBlock b : mem.blocks()) method = Prefault.populateWrite(b, threads);
                prefaultMillis = (System.nanoTime() - t0) / 1_000_000;
                System.err.println("livemig: prealloc: populated " + (mem.totalBytes() >> 20) + " MiB in "
                        + prefaultMillis + " ms with " + threads + " threads (" + method + ")");
            } catch (RuntimeException e) {
                System.err.println("livemig: prealloc: failed, RAM stays lazily faulted: " + e.getMessage());
            }
        });
    }

    /** How long the {@code --prealloc} prefault took, or -1 when there is none or it is still running. */
    public long prefaultMillis() {
        return prefaultMillis;
    }

    /** Whether RAM is still fresh (see {@link #freshRam}); a load calls this once, and RAM is not fresh after. */
    public synchronized boolean takeFreshRam() {
        boolean fresh = freshRam;
        freshRam = false;
        return fresh;
    }

    /** Something other than an incoming load wrote guest RAM. */
    public synchronized void noteRamWritten() {
        freshRam = false;
    }

    /** Allocates RAM, copies {@code --load} files in, creates the machine. Does not start it. */
    public static LivemigVm create(RunOptions options, EventSink events) throws IOException {
        GuestMemory.Builder b = GuestMemory.builder();
        if (options.memPath().isPresent()) {
            b.hugetlbfsFile(RAM_BLOCK, options.memoryBytes(), options.memPath().get());
        } else {
            // THP as QEMU does for anonymous RAM (ram_block_add: QEMU_MADV_HUGEPAGE, 2 MiB aligned). Under
            // nested virtualisation this is what makes prefault pay: MADV_POPULATE_WRITE of 256 MiB then
            // takes ~14 ms and later copies in run at memcpy speed, where 4 KiB pages cost ~6 us each on
            // first write even after populate (measured here: 420-550 ms per 256 MiB).
            b.anonymous(RAM_BLOCK, options.memoryBytes(), true);
        }
        GuestMemory memory = b.build();
        SerialSink serial = null;
        GuestMachine machine = null;
        try {
            MemorySegment ram = memory.block(RAM_BLOCK).segment();
            for (RunOptions.Load l : options.loads()) loadFile(ram, l);
            serial = SerialSink.parse(options.serial());
            if (!options.machine().equals("none")) {
                machine = Machines.create(memory, MachineConfig.of(options.machine(), options.guest(), serial));
            }
            return new LivemigVm(options, memory, serial, machine, events);
        } catch (IOException | RuntimeException e) {
            if (machine != null) machine.close();
            if (serial != null) serial.close();
            memory.close();
            throw e;
        }
    }

    private static void loadFile(MemorySegment ram, RunOptions.Load l) throws IOException {
        try (FileChannel fc = FileChannel.open(l.file(), StandardOpenOption.READ)) {
            long done = 0;
            while (done < l.sizeBytes()) {
                long n = Math.min(1L << 30, l.sizeBytes() - done);
                ByteBuffer dst = ram.asSlice(l.gpa() + done, n).asByteBuffer();
                while (dst.hasRemaining()) {
                    if (fc.read(dst) < 0) throw new IOException("--load " + l.file() + ": file shrank while loading");
                }
                done += n;
            }
        }
    }

    public RunOptions options() {
        return options;
    }

    public GuestMemory memory() {
        return memory;
    }

    /** The stream's machine name: {@code none} for {@code --machine none} (as QEMU's {@code -M none}). */
    public String machineName() {
        return machine == null ? "none" : "livemig-" + machine.accelerator();
    }

    /** The machine, or null for {@code --machine none}. */
    public GuestMachine machine() {
        return machine;
    }

    public synchronized String runState() {
        return runState;
    }

    public synchronized boolean isRunning() {
        return runState.equals("running");
    }

    /** Boots the guest unless {@code -S} or an incoming migration is expected. */
    public synchronized void startInitially() {
        if (runState.equals("prelaunch") && autostart) startLocked();
    }

    /** QMP {@code stop}. */
    public synchronized void stop() {
        switch (runState) {
            case "inmigrate" -> autostart = false;
            case "running" -> {
                if (machine != null) machine.pause();
                runState = "paused";
                events.emit("STOP", null);
            }
            default -> {
                // already stopped (QEMU: stop on a stopped VM is a no-op without an event)
            }
        }
    }

    /** QMP {@code cont}. */
    public synchronized void cont() throws QmpError {
        switch (runState) {
            case "inmigrate" -> autostart = true;
            case "running" -> {
            }
            case "shutdown", "internal-error", "guest-panicked" ->
                    throw QmpError.generic("Resetting the Virtual Machine is required");
            case "finish-migrate" -> throw QmpError.generic("Migration is not finalized yet");
            default -> startLocked();
        }
    }

    private void startLocked() {
        freshRam = false;
        if (machine != null) {
            if (machine.runState() == GuestMachine.RunState.CREATED) machine.start();
            else machine.resume();
        }
        runState = "running";
        events.emit("RESUME", null);
    }

    /** Stops the guest for the final stage of an outgoing migration; returns the state it had. */
    public synchronized String stopForMigration() {
        String prev = runState;
        if (prev.equals("running")) {
            if (machine != null) machine.pause();
            events.emit("STOP", null);
        }
        runState = "finish-migrate";
        return prev;
    }

    /**
     * The live migration engine paused the vCPUs itself for switchover: record it (QEMU's finish-migrate)
     * and send STOP. Returns the state before.
     */
    public synchronized String stoppedBySwitchover() {
        String prev = runState;
        if (prev.equals("running")) events.emit("STOP", null);
        runState = "finish-migrate";
        return prev;
    }

    /**
     * QMP {@code x-livemig-ab-check}: the A-B guest's RAM rule. A running guest is first seen to advance,
     * then paused (STOP) and checked, as spec/ab-guest.md step 3 asks; a stopped one is checked as it is.
     */
    public synchronized io.livemig.kvm.AbConsistencyCheck.Result abCheck(java.time.Duration changeTimeout) throws QmpError {
        if (machine == null || !options.guest().equals("ab")) {
            throw QmpError.generic("x-livemig-ab-check needs --guest ab on a java or kvm machine");
        }
        if (runState.equals("running")) {
            io.livemig.kvm.AbConsistencyCheck.Result r = io.livemig.kvm.AbConsistencyCheck.stopAndCheck(machine,
                    io.livemig.kvm.AbGuest.DEFAULT_WINDOW_END_BYTES, changeTimeout);
            machine.pause();
            runState = "paused";
            events.emit("STOP", null);
            return r;
        }
        return io.livemig.kvm.AbConsistencyCheck.check(memory);
    }

    /** After a failed or cancelled outgoing migration: back to how it was (running resumes). */
    public synchronized void restoreAfterFailedMigration(String previous) {
        if (previous.equals("running")) {
            startLocked();
        } else {
            runState = previous;
        }
    }

    /** After a completed outgoing migration: QEMU's "postmigrate". */
    public synchronized void completedOutgoing() {
        runState = "postmigrate";
    }

    /**
     * After a completed incoming migration, adopt the source's run state as QEMU does: "running" (or no
     * globalstate) starts the guest when autostart is on, else "paused"; any other state is taken as is.
     */
    public synchronized void completedIncoming(java.util.Optional<String> sourceRunState) {
        if (sourceRunState.isEmpty() || sourceRunState.get().equals("running")) {
            if (autostart) startLocked();
            else runState = "paused";
        } else {
            runState = sourceRunState.get();
        }
    }

    /** The guest-physical range {@code [gpa, gpa+size)} of RAM, or a QMP error naming the range. */
    public MemorySegment phys(long gpa, long size, String what) throws QmpError {
        long ramSize = memory.block(RAM_BLOCK).sizeBytes();
        if (gpa < 0 || size < 0 || gpa > ramSize || size > ramSize - gpa) {
            throw QmpError.generic(what + ": guest-physical range 0x" + Long.toHexString(gpa) + "+0x"
                    + Long.toHexString(size) + " is outside guest RAM (0x0..0x" + Long.toHexString(ramSize) + ")");
        }
        return memory.block(RAM_BLOCK).segment().asSlice(gpa, size);
    }

    /** QMP {@code pmemsave}: writes guest-physical bytes to {@code file} (created or truncated). */
    public void pmemsave(long gpa, long size, Path file) throws QmpError {
        MemorySegment src = phys(gpa, size, "pmemsave");
        try (FileChannel fc = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long off = 0; off < size; off += 1L << 30) {
                ByteBuffer b = src.asSlice(off, Math.min(1L << 30, size - off)).asByteBuffer();
                while (b.hasRemaining()) fc.write(b);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw QmpError.generic("Could not open '" + file + "': No such file or directory");
        } catch (java.nio.file.AccessDeniedException e) {
            throw QmpError.generic("Could not open '" + file + "': Permission denied");
        } catch (IOException e) {
            throw QmpError.generic("Could not open '" + file + "': " + e.getMessage());
        }
    }

    /** query-status' object. */
    public synchronized java.util.Map<String, Object> queryStatus() {
        return Json.obj("status", runState, "singlestep", false, "running", runState.equals("running"));
    }

    /** Marks the VM shut down (quit, SIGTERM) and stops the vCPUs. */
    public synchronized void shutdown() {
        if (machine != null && runState.equals("running")) machine.pause();
        runState = "shutdown";
    }

    @Override
    public void close() {
        if (prefault != null) {
            // Bounded: the prefault ends when it has walked RAM (about a second per GiB here); RAM must not be
            // unmapped under it (the touch fallback would fault on unmapped memory).
            boolean interrupted = false;
            while (prefault.isAlive()) {
                try {
                    prefault.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
        try {
            if (machine != null) machine.close();
        } finally {
            try {
                serial.close();
            } finally {
                memory.close();
            }
        }
    }
}
