package io.livemig.engine.stream;

import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpClient;

import io.livemig.sys.HostCapabilities;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A QEMU child process with a QMP socket, killed on close; its stderr goes to a file for messages. */
public final class QemuProcess implements AutoCloseable {
    public static final Duration QMP_TIMEOUT = Duration.ofSeconds(20);
    private final Process process;
    private final Path stderr;
    public final QmpClient qmp;

    private QemuProcess(Process process, Path stderr, QmpClient qmp) {
        this.process = process;
        this.stderr = stderr;
        this.qmp = qmp;
    }

    /** The QEMU binary, or a skipped test with the reason. */
    public static Path qemuOrSkip() {
        Optional<Path> q = HostCapabilities.qemu();
        assumeTrue(q.isPresent(), "qemu-system-x86_64 not found on PATH (or LIVEMIG_QEMU): QEMU interop test skipped");
        return q.get();
    }

    /** Starts {@code qemu -display none -qmp unix:DIR/qmp.sock,server=on,wait=off ARGS}. */
    public static QemuProcess start(Path dir, List<String> args) throws IOException, InterruptedException {
        Path qemu = qemuOrSkip();
        Path sock = dir.resolve("qmp-" + System.nanoTime() + ".sock");
        Path err = dir.resolve("qemu-" + System.nanoTime() + ".stderr");
        List<String> cmd = new ArrayList<>(List.of(qemu.toString(), "-display", "none",
                "-qmp", "unix:" + sock + ",server=on,wait=off"));
        cmd.addAll(args);
        System.out.println("starting: " + String.join(" ", cmd));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
        try {
            QmpClient c = QmpClient.open(sock, QMP_TIMEOUT);
            return new QemuProcess(p, err, c);
        } catch (IOException | java.util.concurrent.TimeoutException e) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
            throw new IOException(e.getMessage() + "; qemu stderr: " + readQuietly(err), e);
        }
    }

    /** Runs {@code cmd} with arguments given as a JSON object text (or null). */
    public Object execute(String cmd, String args) throws IOException {
        try {
            return qmp.execute(cmd, args == null ? null : Json.parseObject(args), QMP_TIMEOUT);
        } catch (Json.ParseException e) {
            throw new IllegalArgumentException("bad JSON arguments in the test: " + args, e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("QEMU did not answer " + cmd + " within " + QMP_TIMEOUT, e);
        }
    }

    /** Polls query-migrate until a final status; returns it ("completed" or "failed"...). */
    @SuppressWarnings("unchecked")
    public Map<String, Object> awaitMigration(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, Object> last = Map.of();
        while (System.nanoTime() < deadline) {
            last = (Map<String, Object>) execute("query-migrate", null);
            Object s = last.get("status");
            if ("completed".equals(s) || "failed".equals(s) || "cancelled".equals(s)) return last;
            Thread.sleep(50);
        }
        throw new IOException("migration not finished within " + timeout + ": " + last + "; stderr: " + stderrText());
    }

    /**
     * {@code exec:cat > FILE} may still be writing after QEMU reports "completed" (QEMU only closed the pipe):
     * waits until the file size has not changed for 300 ms (at most 10 s).
     */
    public static void awaitStableFile(Path file) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        long size = -1;
        long stableSince = System.nanoTime();
        while (System.nanoTime() < deadline) {
            long now = Files.exists(file) ? Files.size(file) : -1;
            if (now != size) {
                size = now;
                stableSince = System.nanoTime();
            } else if (System.nanoTime() - stableSince > Duration.ofMillis(300).toNanos()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IOException(file + " still changing after 10 s");
    }

    @SuppressWarnings("unchecked")
    public String runStatus() throws IOException {
        return String.valueOf(((Map<String, Object>) execute("query-status", null)).get("status"));
    }

    public String stderrText() {
        return readQuietly(stderr);
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    @Override
    public void close() throws IOException {
        try {
            qmp.execute("quit", null, Duration.ofSeconds(5));
        } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException ignored) {
            // already gone
        }
        qmp.close();
        io.livemig.engine.ChildProcesses.awaitOrKill(process);
    }
}
