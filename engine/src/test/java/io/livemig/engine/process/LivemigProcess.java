package io.livemig.engine.process;

import io.livemig.engine.qmp.QmpClient;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@code livemig run} child JVM for tests (the current java binary and class path, RunCommand as main
 * class), or any other command (QEMU) with a QMP socket. Output goes to files in the test's directory so
 * a failing test can show it; {@link #close()} kills whatever is still running.
 */
final class LivemigProcess implements AutoCloseable {
    static final Duration START_TIMEOUT = Duration.ofSeconds(20);

    final Process process;
    final Path qmpSocket;
    final Path log;

    private LivemigProcess(Process process, Path qmpSocket, Path log) {
        this.process = process;
        this.qmpSocket = qmpSocket;
        this.log = log;
    }

    /** {@code livemig run --qmp unix:DIR/NAME.qmp ARGS}. */
    static LivemigProcess start(Path dir, String name, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Path sock = dir.resolve(name + ".qmp");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                RunCommand.class.getName(), "--qmp", "unix:" + sock));
        cmd.addAll(List.of(args));
        return launch(cmd, sock, dir.resolve(name + ".log"));
    }

    /** Any command that serves QMP on {@code sock} (QEMU). */
    static LivemigProcess launch(List<String> cmd, Path sock, Path log) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new LivemigProcess(p, sock, log);
    }

    /**
     * {@code qemu-system-x86_64 -M none -nodefaults -display none -qmp unix:DIR/NAME.qmp ARGS}; the test is
     * skipped with a reason when QEMU is not installed (HostCapabilities.qemu()).
     */
    static LivemigProcess qemu(Path dir, String name, String... args) throws IOException {
        java.util.Optional<Path> qemu = io.livemig.sys.HostCapabilities.qemu();
        org.junit.jupiter.api.Assumptions.assumeTrue(qemu.isPresent(),
                "qemu-system-x86_64 not found on PATH (or LIVEMIG_QEMU): QEMU interop test skipped");
        Path sock = dir.resolve(name + ".qmp");
        List<String> cmd = new ArrayList<>(List.of(qemu.get().toString(), "-M", "none", "-nodefaults", "-display",
                "none", "-qmp", "unix:" + sock + ",server=on,wait=off"));
        cmd.addAll(List.of(args));
        return launch(cmd, sock, dir.resolve(name + ".log"));
    }

    QmpClient qmp() throws IOException, TimeoutException {
        try {
            return QmpClient.open(qmpSocket, START_TIMEOUT);
        } catch (IOException | TimeoutException e) {
            throw new IOException(e.getMessage() + "\nprocess output:\n" + output(), e);
        }
    }

    String output() {
        try {
            return Files.exists(log) ? Files.readString(log) : "(no output)";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /** The exit code, or a TimeoutException with the process output. */
    int awaitExit(Duration timeout) throws InterruptedException, TimeoutException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new TimeoutException("process did not exit within " + timeout + "; output:\n" + output());
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        if (!process.isAlive()) return;
        process.destroy();
        io.livemig.engine.ChildProcesses.awaitOrKill(process);
    }
}
