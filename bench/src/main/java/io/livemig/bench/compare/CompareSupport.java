package io.livemig.bench.compare;

import io.livemig.engine.qmp.Json;
import io.livemig.engine.qmp.QmpClient;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * What the side-by-side comparisons with QEMU share: child processes (QEMU and {@code livemig run} from this
 * jar), QMP polling, medians, the load average and the JSON result file. These are wall-clock measurements of
 * whole processes, not JMH microbenchmarks: JMH cannot time another process' migration, so each comparison
 * repeats the run itself and reports median and spread.
 */
final class CompareSupport {
    static final String QEMU = System.getenv().getOrDefault("QEMU", "/usr/bin/qemu-system-x86_64");
    static final Duration QMP_TIMEOUT = Duration.ofSeconds(120);

    private CompareSupport() {
    }

    /** A started child process with its QMP socket and a stderr log; closing quits and reaps it. */
    static final class Child implements AutoCloseable {
        final String name;
        final Process process;
        final Path qmpSocket;
        final Path log;
        final long startNanos;
        QmpClient qmp;

        Child(String name, List<String> command, Path qmpSocket, Path log) throws IOException {
            this.name = name;
            this.qmpSocket = qmpSocket;
            this.log = log;
            Files.deleteIfExists(qmpSocket);
            this.startNanos = System.nanoTime();
            this.process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
        }

        /** Connects to QMP and negotiates (QEMU answers only once machine init, incl. -mem-prealloc, is done). */
        QmpClient qmp() throws IOException, TimeoutException {
            if (qmp == null) {
                try {
                    qmp = QmpClient.open(qmpSocket, QMP_TIMEOUT);
                } catch (IOException | TimeoutException e) {
                    throw new IOException(name + ": no QMP (" + e.getMessage() + "); log " + log + ":\n" + tail(), e);
                }
            }
            return qmp;
        }

        Object exec(String command, Object... kv) throws IOException, TimeoutException {
            return qmp().execute(command, QMP_TIMEOUT, kv);
        }

        @SuppressWarnings("unchecked")
        Map<String, Object> execMap(String command, Object... kv) throws IOException, TimeoutException {
            return (Map<String, Object>) exec(command, kv);
        }

        String tail() {
            try {
                List<String> lines = Files.readAllLines(log);
                return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
            } catch (IOException e) {
                return "(cannot read log: " + e.getMessage() + ")";
            }
        }

        @Override
        public void close() {
            try {
                if (qmp != null && process.isAlive()) {
                    try {
                        qmp.execute("quit", null, Duration.ofSeconds(5));
                    } catch (IOException | TimeoutException ignored) {
                        // gone or not answering: destroyed below
                    }
                    qmp.close();
                }
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroy();
                    if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** {@code livemig run ARGS} as the launcher runs it, from this (shaded) jar. */
    static List<String> livemigRun(List<String> args) {
        List<String> c = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC", "-cp",
                System.getProperty("java.class.path"), "io.livemig.engine.process.RunCommand"));
        c.addAll(args);
        return c;
    }

    /** A free loopback TCP port (closed again; tiny race with other users of the machine). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * Polls {@code query-migrate} on {@code child} every {@code pollMillis} until its status is a final one;
     * returns the last reply. Throws when it failed or did not finish in {@code timeout}.
     */
    static Map<String, Object> awaitMigration(Child child, Duration timeout, long pollMillis,
                                              Predicate<String> done) throws IOException, TimeoutException,
            InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Map<String, Object> m = child.execMap("query-migrate");
            String status = String.valueOf(m.get("status"));
            if (done.test(status)) return m;
            if (status.equals("failed") || status.equals("cancelled")) {
                throw new IOException(child.name + ": migration " + status + ": " + Json.write(m) + "\n" + child.tail());
            }
            if (System.nanoTime() > deadline) {
                throw new TimeoutException(child.name + ": migration not done in " + timeout + ": " + Json.write(m));
            }
            Thread.sleep(pollMillis);
        }
    }

    static double millisSince(long startNanos, long nowNanos) {
        return (nowNanos - startNanos) / 1e6;
    }

    /** Median, min and max of the samples (ms), rounded to 0.1 ms. */
    static Map<String, Object> summary(List<Double> samples) {
        List<Double> s = new ArrayList<>(samples);
        Collections.sort(s);
        double median = s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
        return Json.obj("median", round(median), "min", round(s.getFirst()), "max", round(s.getLast()),
                "samples", s.stream().map(CompareSupport::round).toList());
    }

    static double median(Map<String, Object> summary) {
        return ((Number) summary.get("median")).doubleValue();
    }

    static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    static double ratio(double a, double b) {
        return Math.round(a / b * 1000) / 1000.0;
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    static String qemuVersion() {
        try {
            Process p = new ProcessBuilder(QEMU, "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes()).lines().findFirst().orElse("?");
            p.waitFor(5, TimeUnit.SECONDS);
            return v;
        } catch (IOException e) {
            return "not runnable: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    static void writeJson(Path file, Map<String, Object> result) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, Json.write(result) + "\n");
    }

    private static volatile long clockTicks;

    /** USER_HZ, the unit of /proc/PID/stat's utime and stime ({@code getconf CLK_TCK}; 100 if that fails). */
    static long clockTicksPerSecond() {
        long t = clockTicks;
        if (t > 0) return t;
        t = 100;
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes()).trim();
            if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) t = Long.parseLong(v);
        } catch (IOException | NumberFormatException e) {
            // keep 100, Linux' USER_HZ on every common architecture
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        clockTicks = t;
        return t;
    }

    /** CPU time used so far by process {@code pid}, all threads: utime + stime (fields 14 and 15), in clock ticks. */
    static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        // comm (field 2) may hold spaces and parentheses: the fields after it start behind the last ')'.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // f[0] is field 3 (state)
    }

    static double ticksToMillis(long ticks) {
        return ticks * 1000.0 / clockTicksPerSecond();
    }

    /** The {@code --prealloc} time livemig logs on stderr ("populated N MiB in T ms"), or -1. */
    static double livemigPrefaultMillis(Path log) throws IOException {
        return millisAfter(log, "livemig: prealloc: populated ");
    }

    /** The JIT warm-up time a livemig process logs ("livemig: JIT warm-up: ... in T ms"), or -1. */
    static double livemigWarmupMillis(Path log) throws IOException {
        return millisAfter(log, "livemig: JIT warm-up: ");
    }

    private static double millisAfter(Path log, String prefix) throws IOException {
        for (String line : Files.readAllLines(log)) {
            int i = line.indexOf(prefix);
            if (i < 0) continue;
            int in = line.indexOf(" in ", i);
            int ms = line.indexOf(" ms", in);
            return Double.parseDouble(line.substring(in + 4, ms));
        }
        return -1;
    }
}
