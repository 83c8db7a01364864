package io.livemig.engine.process;

import io.livemig.engine.migration.MigrationCapabilities;
import io.livemig.engine.migration.MigrationParameters;
import io.livemig.engine.qmp.QmpServer;

import java.io.IOException;
import java.io.PrintStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code livemig run}: one VM per process, driven over QMP, like a QEMU process. Options are validated
 * before anything is allocated; the process ends with 0 on QMP {@code quit} or SIGTERM/SIGINT, 1 when
 * start-up or an incoming migration fails (as QEMU exits then), 2 for a bad command line.
 */
public final class RunCommand {
    public static final String HELP = """
            Usage: livemig run [OPTIONS]

            Runs one VM (guest RAM, optional vCPUs, QMP control socket), the source or the destination
            of a migration. The migration stream is QEMU 7.2's: --machine none is compatible with
            qemu-system-x86_64 -M none -nodefaults -m SIZE.

            Options:
              --machine kvm|java|none|auto  vCPUs on /dev/kvm, as Java threads, none at all (RAM only), or
                                            kvm when usable else java (default auto)
              --memory SIZE                 guest RAM: 64M, 1G, 268435456 (bytes); a multiple of 4K
                                            (default 128M)
              --guest ab|idle               the guest program (default ab; ignored by --machine none)
              --load FILE@GPA               copy FILE into guest RAM at guest-physical address GPA
                                            (decimal or 0x hex); may be repeated
              --mem-path DIR                back RAM with a file on the hugetlbfs mounted at DIR
              --dirty-track log|clear|ring|auto
                                            KVM dirty tracking backend (default auto)
              --qmp unix:PATH               QMP control socket (QEMU's protocol and commands)
              --serial file:PATH|stdio|none where guest serial output goes (default none)
              --incoming defer|URI          be a migration destination: listen on URI now, or wait for
                                            QMP migrate-incoming (defer). URIs: tcp:HOST:PORT (port 0 picks
                                            one), unix:PATH, exec:CMD, fd:N, file:PATH[,offset=N]
              --prealloc on|off|auto        populate all guest RAM in the background from start-up (QEMU's
                                            -mem-prealloc, but not blocking); auto (default) = on with
                                            --incoming: a destination writes every page it receives and a
                                            first-touch fault per page is the receive path's largest cost
              --jit-warmup on|off|auto      before the monitor answers, run a few 8 MiB migrations over
                                            loopback inside the process so the JIT has compiled the
                                            per-page paths before the first real one; auto (default) = on
                                            for --memory 256M or more
              -S                            do not start the guest (run state prelaunch; QMP cont starts it)
              --uuid UUID                   the VM's UUID (checked by the validate-uuid capability)
              -h, --help                    this text

            QMP commands: qmp_capabilities, query-status, stop, cont, quit, pmemsave, migrate,
            migrate-incoming, migrate_cancel, query-migrate, migrate-set-capabilities,
            query-migrate-capabilities, migrate-set-parameters, query-migrate-parameters,
            x-livemig-read-phys, x-livemig-write-phys. Events: STOP, RESUME, SHUTDOWN, MIGRATION.

            Example:
              livemig run --machine none --memory 64M --incoming defer --qmp unix:/tmp/dst.qmp
            """;

    /** The QMP greeting's "package". */
    public static final String PACKAGE = "livemig-0.1";

    private RunCommand() {
    }

    /** Entry for a child JVM in tests: {@code java -cp ... io.livemig.engine.process.RunCommand ARGS}. */
    public static void main(String[] args) {
        int code = run(args);
        System.out.flush();
        System.err.flush();
        System.exit(code);
    }

    /** {@code livemig run ARGS} with the process' stdout/stderr; returns the exit code. */
    public static int run(String[] argsAfterRun) {
        return run(argsAfterRun, System.out, System.err);
    }

    /** Runs until quit or SIGTERM; returns the exit code (0 ok, 1 failure, 2 usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                out.print(HELP);
                return 0;
            }
        }
        RunOptions options;
        try {
            options = RunOptions.parse(args);
        } catch (UsageException e) {
            err.println("livemig run: " + e.getMessage());
            return 2;
        }
        Thread warmup = options.jitWarmupEffective() ? startWarmup(err) : null;
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        AtomicReference<QmpServer> qmpRef = new AtomicReference<>();
        EventSink events = (name, data) -> {
            QmpServer q = qmpRef.get();
            if (q != null) q.emitEvent(name, data);
        };
        LivemigVm vm;
        try {
            vm = LivemigVm.create(options, events);
        } catch (IOException | RuntimeException e) {
            err.println("livemig run: cannot create the VM: " + e.getMessage());
            return 1;
        }
        MigrationCapabilities caps = new MigrationCapabilities();
        MigrationParameters params = new MigrationParameters();
        MigrationManager migration = new MigrationManager(vm, new QemuStreamCodec(), caps, params, events,
                exit::complete);
        migration.awaitBeforeTransfer(warmup);
        QmpServer qmp = null;
        try {
            // Everything is set up before QMP answers, as in QEMU (whose monitor serves once the main loop
            // runs): a client that got a reply may send SIGTERM, read the bound address from query-migrate
            // and connect to it, or expect "running" from query-status.
            installSignalHandlers(exit, err);
            if (options.incoming().isPresent() && options.incoming().get().uri().isPresent()) {
                migration.startIncoming(options.incoming().get().uri().get());
            }
            vm.startInitially();
            if (warmup != null) warmup.join(); // "ready" (the monitor answering) includes the warm-up
            if (options.qmpSocket().isPresent()) {
                qmp = new QmpServer(options.qmpSocket().get(), PACKAGE);
                VmCommands.register(qmp, vm, migration, caps, params, () -> exit.complete(0));
                qmpRef.set(qmp);
                qmp.start();
            }
            int code = exit.get();
            return code;
        } catch (IOException | RuntimeException e) {
            err.println("livemig run: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (ExecutionException e) {
            err.println("livemig run: " + e.getCause());
            return 1;
        } finally {
            migration.close();
            vm.shutdown();
            if (qmp != null) qmp.close();
            vm.close();
        }
    }

    /** {@link JitWarmup} on its own thread, concurrent with the rest of start-up. */
    private static Thread startWarmup(PrintStream err) {
        return Thread.ofPlatform().name("livemig-jit-warmup").daemon().start(() -> {
            try {
                long ms = JitWarmup.run(new QemuStreamCodec());
                err.println("livemig: JIT warm-up: " + JitWarmup.ROUNDS + "+" + JitWarmup.MULTIFD_ROUNDS
                        + " (multifd) loopback migrations of " + JitWarmup.RAM_MIB + " MiB in " + ms + " ms");
            } catch (IOException | RuntimeException e) {
                err.println("livemig: JIT warm-up failed (migrations still work, the first one starts cold): " + e);
            }
        });
    }

    /**
     * SIGTERM and SIGINT end the process cleanly (exit 0), as QEMU does ("terminating on signal N").
     * sun.misc.Signal (jdk.unsupported) is the only JDK way to handle a signal instead of running the
     * shutdown hooks and exiting 143. It is reached reflectively so the build carries no "internal
     * proprietary API" warning; without it (a JVM that lacks jdk.unsupported) the default action stays.
     */
    private static void installSignalHandlers(CompletableFuture<Integer> exit, PrintStream err) {
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            java.lang.reflect.Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
            java.lang.reflect.Method number = signalClass.getMethod("getNumber");
            Object handler = java.lang.reflect.Proxy.newProxyInstance(handlerClass.getClassLoader(),
                    new Class<?>[] {handlerClass}, (proxy, method, args) -> {
                        if (!method.getName().equals("handle")) return method.invoke(exit, args);
                        err.println("livemig: terminating on signal " + number.invoke(args[0]));
                        exit.complete(0);
                        return null;
                    });
            for (String name : new String[] {"TERM", "INT"}) {
                try {
                    handle.invoke(null, signalClass.getConstructor(String.class).newInstance(name), handler);
                } catch (java.lang.reflect.InvocationTargetException e) {
                    // The JVM reserves this signal (e.g. -Xrs); the default action (exit) stays.
                }
            }
        } catch (ReflectiveOperationException e) {
            err.println("livemig: cannot handle SIGTERM/SIGINT (" + e + "); they will end the process with the default status");
        }
    }
}
