package io.livemig.engine.process;

import io.livemig.engine.migration.MachineStateSection;
import io.livemig.engine.migration.MigrationCapabilities;
import io.livemig.engine.migration.MigrationCapability;
import io.livemig.engine.migration.MigrationParameters;
import io.livemig.engine.migration.MigrationStatus;
import io.livemig.engine.migration.PrecopySource;
import io.livemig.engine.stream.SaveOptions;
import io.livemig.kvm.DirtyTracker;
import io.livemig.kvm.GuestMachine;
import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpError;
import io.livemig.transport.IncomingEndpoint;
import io.livemig.transport.MigrationChannel;
import io.livemig.transport.MigrationUri;
import io.livemig.transport.Transports;
import io.livemig.transport.UriException;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntConsumer;

/**
 * At most one migration of a {@link LivemigVm} at a time, outgoing ({@code migrate}) or incoming
 * ({@code --incoming URI} / {@code migrate-incoming}), each on its own {@code migration} thread.
 * {@code --machine none} (no vCPUs, RAM changes only through QMP) migrates non-live: stop, send the whole
 * stream, end in {@code postmigrate}, exactly as {@code qemu -M none} does (the destination adopts the
 * source's run state). A VM with vCPUs (java, kvm) migrates live with {@link PrecopySource}: dirty
 * tracking, RAM passes, switchover, the livemig-machine section with the vCPU state.
 * With capability {@code multifd} (both paths, tcp/unix only) {@link MultifdLinks} opens the multifd
 * connections right after the main one and carries the non-zero pages; the destination takes every
 * connection after the first as a multifd channel and syncs them at each RAM EOS (spec 3.5).
 *
 * <p>Threads: the QMP thread starts, cancels and queries; the migration thread runs the transfer and
 * sets the status. {@link #status} and the fields of the running job are volatile; transitions are
 * made under this object's monitor, never across I/O.
 */
public final class MigrationManager implements AutoCloseable {
    private final LivemigVm vm;
    private final StreamCodec codec;
    private final MigrationCapabilities capabilities;
    private final MigrationParameters parameters;
    private final EventSink events;
    /** Called with the exit code when an incoming migration fails (QEMU exits then). */
    private final IntConsumer exitProcess;

    /** "none" before the first migration; else QEMU's MigrationStatus name. */
    private volatile String status = "none";
    private volatile String errorDesc;
    private volatile boolean incomingStarted;
    /** Set by {@link #close()}: failures after it are the shutdown's doing, not worth a message. */
    private volatile boolean closing;
    private volatile boolean outgoing;
    private volatile long startMillis;
    private volatile long setupMillis = -1;
    private volatile long endMillis = -1;
    private volatile long downtimeMillis = -1;
    private volatile MigrationChannel channel;
    private volatile IncomingEndpoint endpoint;
    private volatile Thread thread;
    /** The live engine of the running outgoing migration (machines with vCPUs), else null. */
    private volatile PrecopySource precopy;
    /** The multifd channels of the current/last migration (capability multifd), else null. */
    private volatile MultifdLinks.Outgoing multifdOut;
    private volatile MultifdLinks.Incoming multifdIn;
    /** The start-up {@link JitWarmup} still running, or null; a transfer waits for it (they share 2 cores). */
    private volatile Thread warmup;

    public MigrationManager(LivemigVm vm, StreamCodec codec, MigrationCapabilities capabilities,
                            MigrationParameters parameters, EventSink events, IntConsumer exitProcess) {
        this.vm = vm;
        this.codec = codec;
        this.capabilities = capabilities;
        this.parameters = parameters;
        this.events = events;
        this.exitProcess = exitProcess;
    }

    /** Makes every transfer wait for {@code t} (the start-up JIT warm-up) before it moves data. */
    public void awaitBeforeTransfer(Thread t) {
        warmup = t;
    }

    private void awaitWarmup() {
        Thread t = warmup;
        if (t == null) return;
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        warmup = null;
    }

    public boolean isActive() {
        String s = status;
        // pre-switchover too (QEMU's migration_is_running): else migrate_cancel there was a no-op
        return s.equals("setup") || s.equals("active") || s.equals("cancelling") || s.equals("device")
                || s.equals("pre-switchover");
    }

    private void setStatus(String s) {
        status = s;
        if (capabilities.isEnabled(MigrationCapability.EVENTS)) events.emit("MIGRATION", Json.obj("status", s));
    }

    /** QMP {@code migrate}: checks, then starts the migration thread; errors after that land in query-migrate. */
    public synchronized void migrate(String uriText) throws QmpError {
        if (isActive()) throw QmpError.generic("There's a migration process in progress");
        if (vm.runState().equals("inmigrate")) throw QmpError.generic("Guest is waiting for an incoming migration");
        MigrationUri uri;
        try {
            uri = MigrationUri.parse(uriText);
        } catch (UriException e) {
            setStatus("setup");
            setStatus("failed");
            errorDesc = e.getMessage();
            throw QmpError.generic("Parameter 'uri' expects a valid migration protocol");
        }
        outgoing = true;
        precopy = null;
        multifdOut = null;
        errorDesc = null;
        startMillis = System.currentTimeMillis();
        setupMillis = -1;
        endMillis = -1;
        downtimeMillis = -1;
        setStatus("setup");
        Thread t = new Thread(() -> {
            if (vm.machine() == null) runOutgoing(uri);
            else runLive(uri, vm.machine());
        }, "migration");
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    private void runOutgoing(MigrationUri uri) {
        String previous = null;
        MigrationChannel ch = null;
        try {
            awaitWarmup();
            ch = Transports.connect(uri);
            channel = ch;
            MultifdLinks.Outgoing mf = openMultifd(uri);
            setupMillis = System.currentTimeMillis() - startMillis;
            if (status.equals("cancelling")) throw new IOException("cancelled");
            setStatus("active");
            long stopAt = System.currentTimeMillis();
            previous = vm.stopForMigration();
            codec.save(ch.writable(), vm.memory(), new StreamCodec.SaveRequest(vm.machineName(),
                    vm.options().uuid(), capabilities.isEnabled(MigrationCapability.VALIDATE_UUID), previous), mf);
            if (mf != null) mf.finish();
            lastTransferred = ch.bytesWritten() + (mf != null ? mf.bytes() : 0);
            ch.shutdownOutput();
            MigrationChannel closing = ch;
            ch = null;
            closing.close(); // exec: reaps the child; a non-zero exit fails the migration here
            downtimeMillis = System.currentTimeMillis() - stopAt;
            endMillis = System.currentTimeMillis();
            vm.completedOutgoing();
            setStatus("completed");
        } catch (IOException | RuntimeException e) {
            endMillis = System.currentTimeMillis();
            if (previous != null) vm.restoreAfterFailedMigration(previous);
            outgoingFailed(e, status.equals("cancelling"));
        } finally {
            releaseOutgoing(ch);
        }
    }

    /** An outgoing migration ended early: cancelled on request, or failed with {@code e} as the cause. */
    private void outgoingFailed(Throwable e, boolean cancelled) {
        if (cancelled) {
            status = "cancelling"; // the live engine may have got there first; publish cancelled once
            setStatus("cancelled");
        } else {
            errorDesc = describe(e);
            System.err.println("livemig: migration failed: " + errorDesc);
            setStatus("failed");
        }
    }

    /** Drops the outgoing channels (main and multifd) whatever the outcome; {@code ch} may be null. */
    private void releaseOutgoing(MigrationChannel ch) {
        channel = null;
        MultifdLinks.Outgoing mf = multifdOut;
        if (mf != null) mf.close();
        if (ch != null) {
            ch.shutdown();
            try {
                ch.close();
            } catch (IOException e) {
                // the migration already ended with its first error
            }
        }
    }

    /**
     * Capability multifd: connects and announces the multifd channels right after the main one (QEMU 7.2's
     * order); null without the capability.
     */
    private MultifdLinks.Outgoing openMultifd(MigrationUri uri) throws IOException {
        if (!capabilities.isEnabled(MigrationCapability.MULTIFD)) return null;
        MultifdLinks.Outgoing mf = new MultifdLinks.Outgoing(uri, vm.memory(), parameters.snapshot(), vm.options().uuid(),
                capabilities.isEnabled(MigrationCapability.ZERO_COPY_SEND));
        multifdOut = mf;
        return mf;
    }

    /** Live precopy of a VM with vCPUs; {@link PrecopySource} owns pausing and resuming the vCPUs. */
    private void runLive(MigrationUri uri, GuestMachine machine) {
        MigrationChannel ch = null;
        String[] previous = {null};
        try {
            awaitWarmup();
            ch = Transports.connect(uri);
            channel = ch;
            MultifdLinks.Outgoing mf = openMultifd(uri);
            if (status.equals("cancelling")) throw new IOException("cancelled");
            SaveOptions save = SaveOptions.defaults().withMachine(vm.machineName());
            if (vm.options().uuid().isPresent()) {
                save = save.withUuid(vm.options().uuid().get(), capabilities.isEnabled(MigrationCapability.VALIDATE_UUID));
            }
            PrecopySource.Config config = new PrecopySource.Config(parameters, capabilities.snapshot(),
                    DirtyTracker.Config.of(trackingBackend(machine)), save,
                    () -> List.of(MachineStateSection.deviceSection(machine::saveState)));
            PrecopySource src = new PrecopySource(vm.memory(), machine, ch.writable(), config, new PrecopySource.Listener() {
                @Override
                public void statusChanged(MigrationStatus s) {
                    if (s == MigrationStatus.PRE_SWITCHOVER || (s == MigrationStatus.DEVICE && previous[0] == null)) {
                        previous[0] = vm.stoppedBySwitchover();
                    }
                    // CANCELLING: cancel() already set it and sent its event (one event per state, as QEMU)
                    if (s != MigrationStatus.SETUP && s != MigrationStatus.COMPLETED && s != MigrationStatus.FAILED
                            && s != MigrationStatus.CANCELLING && s != MigrationStatus.CANCELLED) {
                        setStatus(s.qapiName());
                    }
                }

                /** QEMU 7.2 emits MIGRATION_PASS after each dirty sync, with the events capability only. */
                @Override
                public void dirtySync(long dirtySyncCount) {
                    if (capabilities.isEnabled(MigrationCapability.EVENTS)) {
                        events.emit("MIGRATION_PASS", Json.obj("pass", dirtySyncCount));
                    }
                }
            });
            if (mf != null) src.useMultifd(mf, mf::bytes);
            precopy = src;
            setupMillis = System.currentTimeMillis() - startMillis;
            src.run();
            if (src.status() == MigrationStatus.CANCELLED) throw new IOException("cancelled");
            if (mf != null) mf.finish();
            lastTransferred = ch.bytesWritten() + (mf != null ? mf.bytes() : 0);
            ch.shutdownOutput();
            MigrationChannel closing = ch;
            ch = null;
            closing.close();
            endMillis = System.currentTimeMillis();
            vm.completedOutgoing();
            setStatus("completed");
        } catch (IOException | RuntimeException e) {
            endMillis = System.currentTimeMillis();
            if (previous[0] != null) vm.restoreAfterFailedMigration(previous[0]);
            outgoingFailed(e, status.equals("cancelling")
                    || (precopy != null && precopy.status() == MigrationStatus.CANCELLED));
        } finally {
            releaseOutgoing(ch);
        }
    }

    /** {@code --dirty-track}: auto is software tracking for the java machine and the dirty log for KVM. */
    private DirtyTracker.Backend trackingBackend(GuestMachine machine) {
        return switch (vm.options().dirtyTrack()) {
            case "log" -> DirtyTracker.Backend.LOG;
            case "clear" -> DirtyTracker.Backend.CLEAR;
            case "ring" -> DirtyTracker.Backend.RING;
            default -> machine.accelerator().equals("kvm") ? DirtyTracker.Backend.LOG : DirtyTracker.Backend.SOFTWARE;
        };
    }

    /** Tells a running live migration that livemig itself wrote guest RAM (KVM's log sees only guest writes). */
    public void noteHostWrite(long gpa, long length) {
        PrecopySource src = precopy;
        if (src != null) src.markDirty(vm.memory().block(LivemigVm.RAM_BLOCK), gpa, length);
    }

    /** The dirty-tracking backend a live migration of this VM uses, lower case (x-livemig-query-machine). */
    public String trackingBackendName() {
        return trackingBackend(vm.machine()).name().toLowerCase(java.util.Locale.ROOT);
    }

    /** QMP {@code migrate-continue} (capability pause-before-switchover). */
    public void continueSwitchover(String state) throws QmpError {
        PrecopySource src = precopy;
        if (!state.equals("pre-switchover") || src == null || !src.continueSwitchover()) {
            throw QmpError.generic("Migration not in expected state: " + status);
        }
    }

    /** {@code --incoming URI} at start-up (errors end the process, as QEMU's do). */
    public synchronized void startIncoming(MigrationUri uri) throws IOException {
        incomingStarted = true;
        outgoing = false;
        startMillis = System.currentTimeMillis();
        // QEMU sends this one unconditionally (qemu_start_incoming_migration), the others only with 'events'.
        events.emit("MIGRATION", Json.obj("status", "setup"));
        endpoint = Transports.listen(uri);
        status = "setup";
        Thread t = new Thread(this::runIncoming, "migration-incoming");
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    /** QMP {@code migrate-incoming} (only with {@code --incoming defer}). */
    public synchronized void migrateIncoming(String uriText) throws QmpError {
        Optional<RunOptions.Incoming> inc = vm.options().incoming();
        if (inc.isEmpty() || !inc.get().defer()) {
            throw QmpError.generic("'-incoming' was not specified on the command line");
        }
        if (incomingStarted) throw QmpError.generic("The incoming migration has already been started");
        MigrationUri uri;
        try {
            uri = MigrationUri.parse(uriText);
        } catch (UriException e) {
            events.emit("MIGRATION", Json.obj("status", "setup"));
            throw QmpError.generic(e.getMessage());
        }
        try {
            startIncoming(uri);
        } catch (IOException e) {
            incomingStarted = false;
            throw QmpError.generic(e.getMessage());
        }
    }

    private void runIncoming() {
        IncomingEndpoint ep = endpoint;
        MultifdLinks.Incoming mf = null;
        awaitWarmup(); // peers that connect meanwhile wait in the listen backlog
        try (ep; MigrationChannel ch = ep.accept()) {
            channel = ch;
            if (capabilities.isEnabled(MigrationCapability.MULTIFD)) {
                // 7.2: the first connection is the main channel, every later one a multifd channel (spec 3.1).
                mf = new MultifdLinks.Incoming(vm.memory(), parameters.snapshot(), vm.options().uuid(), ep, ch);
                multifdIn = mf;
                mf.awaitChannels();
            }
            setStatus("active");
            StreamCodec.LoadOutcome outcome = codec.load(ch.readable(), vm.memory(),
                    new StreamCodec.LoadRequest(vm.machineName(), vm.options().uuid(), vm.machine(),
                            vm.takeFreshRam()), mf == null ? null : mf.eosHook());
            if (mf != null) mf.awaitEnd();
            for (String w : outcome.warnings()) System.err.println("livemig: incoming migration: " + w);
            endMillis = System.currentTimeMillis();
            setStatus("completed");
            vm.completedIncoming(outcome.runState());
        } catch (IOException | RuntimeException e) {
            endMillis = System.currentTimeMillis();
            errorDesc = describe(e);
            String multifdFailure = mf == null ? null : mf.failureMessage();
            if (multifdFailure != null && !errorDesc.contains(multifdFailure)) errorDesc = multifdFailure + " (" + errorDesc + ")";
            setStatus("failed");
            if (closing) return;
            // QEMU: "load of migration failed: ..." and the destination process exits.
            System.err.println("livemig: load of migration failed: " + errorDesc);
            exitProcess.accept(1);
        } finally {
            channel = null;
            if (mf != null) mf.close();
        }
    }

    /** QMP {@code migrate_cancel}: shuts the channel so the migration thread fails promptly. */
    public void cancel() {
        synchronized (this) {
            if (!outgoing || !isActive()) return;
            status = "cancelling";
        }
        if (capabilities.isEnabled(MigrationCapability.EVENTS)) events.emit("MIGRATION", Json.obj("status", "cancelling"));
        PrecopySource src = precopy;
        if (src != null) src.cancel();
        MigrationChannel ch = channel;
        if (ch != null) ch.shutdown();
        MultifdLinks.Outgoing mf = multifdOut;
        if (mf != null) mf.shutdown();
    }

    /** query-migrate's object (empty before any migration, as in QEMU). */
    public Map<String, Object> query() {
        String s = status;
        Map<String, Object> m = Json.obj();
        if (s.equals("none")) {
            IncomingEndpoint ep = endpoint;
            return ep == null ? m : withSocketAddress(m, ep);
        }
        m.put("status", s);
        long now = System.currentTimeMillis();
        PrecopySource src = precopy;
        if (outgoing && src != null && !s.equals("setup")) {
            MigrationStatus ms = MigrationStatus.valueOf(s.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
            Map<String, Object> live = src.stats().toQmp(ms);
            if (s.equals("failed") && errorDesc != null) live.put("error-desc", errorDesc);
            MultifdLinks.Outgoing mf = multifdOut;
            if (mf != null) MultifdLinks.addToQuery(live, mf.stats(), mf.channels(), mf.compression());
            return live;
        }
        if (outgoing) {
            if (setupMillis >= 0) m.put("setup-time", setupMillis);
            m.put("total-time", (endMillis >= 0 ? endMillis : now) - startMillis);
            if (downtimeMillis >= 0) m.put("downtime", downtimeMillis);
            MigrationChannel ch = channel;
            long total = vm.memory().totalBytes();
            if (ch != null || s.equals("completed")) {
                MultifdLinks.Outgoing mfo = multifdOut;
                long transferred = ch != null ? ch.bytesWritten() + (mfo != null ? mfo.bytes() : 0) : lastTransferred;
                lastTransferred = transferred;
                m.put("ram", Json.obj("transferred", transferred, "remaining", s.equals("completed") ? 0L : total,
                        "total", total, "page-size", 4096L));
            }
        } else {
            IncomingEndpoint ep = endpoint;
            if (ep != null && s.equals("setup")) withSocketAddress(m, ep);
        }
        if (s.equals("failed") && errorDesc != null) m.put("error-desc", errorDesc);
        if (outgoing) {
            MultifdLinks.Outgoing mf = multifdOut;
            if (mf != null) {
                if (m.get("ram") instanceof Map<?, ?> ram) {
                    @SuppressWarnings("unchecked") Map<String, Object> r = (Map<String, Object>) ram;
                    r.putIfAbsent("multifd-bytes", 0L);
                }
                MultifdLinks.addToQuery(m, mf.stats(), mf.channels(), mf.compression());
            }
        } else {
            MultifdLinks.Incoming mf = multifdIn;
            if (mf != null) MultifdLinks.addToQuery(m, mf.stats(), mf.channels(), mf.compression());
        }
        return m;
    }

    private volatile long lastTransferred;

    /**
     * The failure with its causes ("writing at stream offset 181285: Broken pipe"): the stream layers wrap
     * the socket's IOException, whose message is the part that names the connection problem.
     */
    private static String describe(Throwable e) {
        StringBuilder b = new StringBuilder(e.getMessage() != null ? e.getMessage() : e.toString());
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            String m = c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName();
            if (b.indexOf(m) < 0) b.append(": ").append(m);
        }
        return b.toString();
    }

    private static Map<String, Object> withSocketAddress(Map<String, Object> m, IncomingEndpoint ep) {
        switch (ep.boundUri()) {
            case MigrationUri.Tcp t -> m.put("socket-address", List.of(Json.obj("port", String.valueOf(t.port()),
                    "ipv4", !t.host().contains(":"), "host", t.host(), "type", "inet")));
            case MigrationUri.Unix u -> m.put("socket-address", List.of(Json.obj("path", u.path().toString(),
                    "type", "unix")));
            default -> {
            }
        }
        return m;
    }

    /** Cancels whatever runs and waits (bounded) for the migration thread. */
    @Override
    public void close() {
        closing = true;
        cancel();
        IncomingEndpoint ep = endpoint;
        if (ep != null) ep.close();
        MigrationChannel ch = channel;
        if (ch != null) ch.shutdown();
        Thread t = thread;
        if (t != null) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
