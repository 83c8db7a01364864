package io.livemig.engine.cli;

import io.livemig.engine.qmp.QmpClient;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * {@code livemig demo}: the whole job in one command. Starts a destination and a source {@code livemig run}
 * process (A-B guest, KVM or the Java machine), migrates the running guest live over loopback TCP while
 * drawing progress from query-migrate, prints a summary, and runs the A-B RAM consistency check on the
 * destination. Exit 0 only when the migration completed and the check passed.
 */
public final class DemoCommand {
    static final String HELP = """
            Usage: livemig demo [OPTIONS]

            Live-migrates a running A-B guest between two local livemig processes over loopback TCP,
            shows progress, and verifies the destination's RAM (the A-B consistency rule).

            Options:
              --memory SIZE          guest RAM (default 256M; at least 101M for the A-B window)
              --accel auto|kvm|java  where the guest runs (default auto: KVM when /dev/kvm works,
                                     otherwise Java threads on the same RAM; the choice is printed)
              --downtime-limit MS    migration parameter downtime-limit (default 300)
              --max-bandwidth BYTES  bytes/s, 0 = unlimited (default 0)
              --no-auto-converge     do not throttle the guest when it dirties faster than we send
              --xbzrle               send XBZRLE deltas from the second pass on
              --keep                 keep the work folder (QMP sockets, serial logs) and print it
              -h, --help             this text
            """;

    /** Generous: a JVM start plus the JIT warm-up takes ~2 s here, but over a minute under emulation (TCG). */
    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(180);

    private DemoCommand() {
    }

    record Options(long memoryBytes, String accel, long downtimeLimitMs, long maxBandwidth, boolean autoConverge,
                   boolean xbzrle, boolean keep) {
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            err.println("livemig demo: " + e.getMessage());
            err.print(HELP);
            return 2;
        }
        if (o == null) {
            out.print(HELP);
            return 0;
        }
        Path work = null;
        List<Process> children = new ArrayList<>();
        try {
            work = Files.createTempDirectory("livemig-demo-");
            return demo(o, work, children, out, err);
        } catch (IOException | TimeoutException | RuntimeException e) {
            err.println("livemig demo: FAILED: " + e.getMessage());
            if (work != null) reportChildren(work, children, err);
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("livemig demo: interrupted");
            return 1;
        } finally {
            for (Process p : children) {
                p.destroy();
            }
            for (Process p : children) {
                try {
                    if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
                } catch (InterruptedException e) {
                    p.destroyForcibly();
                }
            }
            if (work != null) {
                if (o.keep()) {
                    out.println("work folder kept: " + work);
                } else {
                    deleteTree(work);
                }
            }
        }
    }

    private static int demo(Options o, Path work, List<Process> children, PrintStream out, PrintStream err)
            throws IOException, TimeoutException, InterruptedException {
        int port = freeLoopbackPort();
        Path dstSock = work.resolve("dst.qmp");
        Path srcSock = work.resolve("src.qmp");
        String mem = Long.toString(o.memoryBytes());
        out.println("livemig demo: starting destination (incoming tcp:127.0.0.1:" + port + ") and source, "
                + (o.memoryBytes() >> 20) + " MiB guest RAM");
        children.add(start(work, "dst", List.of("--machine", o.accel(), "--guest", "ab", "--memory", mem,
                "--incoming", "tcp:127.0.0.1:" + port, "--qmp", "unix:" + dstSock,
                "--serial", "file:" + work.resolve("dst-serial.log"))));
        children.add(start(work, "src", List.of("--machine", o.accel(), "--guest", "ab", "--memory", mem,
                "--qmp", "unix:" + srcSock, "--serial", "file:" + work.resolve("src-serial.log"))));
        try (QmpClient dst = QmpClient.open(dstSock, QMP_TIMEOUT); QmpClient src = QmpClient.open(srcSock, QMP_TIMEOUT)) {
            Map<String, Object> machine = asMap(src.execute("x-livemig-query-machine", QMP_TIMEOUT));
            out.println("source guest: A-B on the " + machine.get("accelerator") + " machine"
                    + ("java".equals(machine.get("accelerator")) && machine.get("fallback-reason") != null
                    ? " (" + machine.get("fallback-reason") + ")" : "")
                    + ", dirty tracking: " + machine.get("dirty-track"));
            awaitGuestRunning(src);

            List<Map<String, Object>> caps = new ArrayList<>();
            caps.add(Map.of("capability", "events", "state", true));
            if (o.autoConverge()) caps.add(Map.of("capability", "auto-converge", "state", true));
            if (o.xbzrle()) caps.add(Map.of("capability", "xbzrle", "state", true));
            src.execute("migrate-set-capabilities", Map.of("capabilities", caps), QMP_TIMEOUT);
            src.execute("migrate-set-parameters", Map.of("downtime-limit", o.downtimeLimitMs(),
                    "max-bandwidth", o.maxBandwidth()), QMP_TIMEOUT);
            long t0 = System.nanoTime();
            src.execute("migrate", QMP_TIMEOUT, "uri", "tcp:127.0.0.1:" + port);

            Map<String, Object> q = progress(src, out, Duration.ofMinutes(10));
            String status = String.valueOf(q.get("status"));
            if (!"completed".equals(status)) {
                err.println("livemig demo: migration ended " + status
                        + (q.get("error-desc") != null ? ": " + q.get("error-desc") : ""));
                return 1;
            }
            summary(q, (System.nanoTime() - t0) / 1_000_000, out);

            awaitStatus(dst, "running", Duration.ofSeconds(30));
            out.println("destination: running; checking RAM consistency (A-B rule) ...");
            // Up to 60 s for the resumed guest to show progress: it returns at the first change (ms on a
            // host), but a nested-KVM guest under emulation can take several seconds per A-B pass.
            Map<String, Object> check = asMap(dst.execute("x-livemig-ab-check", Duration.ofSeconds(120),
                    "change-timeout-ms", 60_000L));
            boolean ok = Boolean.TRUE.equals(check.get("consistent"));
            out.println((ok ? "PASS: " : "FAIL: ") + check.get("message"));
            quietly(() -> src.execute("quit", QMP_TIMEOUT));
            quietly(() -> dst.execute("quit", QMP_TIMEOUT));
            return ok ? 0 : 1;
        }
    }

    /** Polls query-migrate every 100 ms and draws one progress line until the migration ends. */
    static Map<String, Object> progress(QmpClient src, PrintStream out, Duration timeout)
            throws IOException, TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean tty = System.console() != null;
        String last = "";
        while (true) {
            Map<String, Object> q = asMap(src.execute("query-migrate", QMP_TIMEOUT));
            String status = String.valueOf(q.get("status"));
            String line = progressLine(q);
            if (tty) {
                out.print("\r" + line + "\033[K");
            } else if (!line.equals(last)) {
                out.println(line);
            }
            last = line;
            if (status.equals("completed") || status.equals("failed") || status.equals("cancelled")) {
                if (tty) out.println();
                return q;
            }
            if (System.nanoTime() > deadline) throw new TimeoutException("migration still " + status + " after " + timeout);
            Thread.sleep(tty ? 100 : 500);
        }
    }

    static String progressLine(Map<String, Object> q) {
        String status = String.valueOf(q.get("status"));
        Map<String, Object> ram = q.get("ram") instanceof Map<?, ?> m ? asMap(m) : Map.of();
        long total = num(ram.get("total"));
        long remaining = num(ram.get("remaining"));
        long transferred = num(ram.get("transferred"));
        long passes = num(ram.get("dirty-sync-count"));
        double mbps = ram.get("mbps") instanceof Number n ? n.doubleValue() : 0;
        long dirtyRate = num(ram.get("dirty-pages-rate"));
        int pct = total == 0 ? 0 : (int) Math.min(100, Math.max(0, (total - remaining) * 100 / total));
        if (status.equals("completed")) pct = 100;
        int filled = pct * 30 / 100;
        String bar = "#".repeat(filled) + " ".repeat(30 - filled);
        String eta = mbps > 0 ? String.format(Locale.ROOT, "%.1fs", remaining * 8 / (mbps * 1e6)) : "-";
        String throttle = q.containsKey("cpu-throttle-percentage") ? "  throttle " + q.get("cpu-throttle-percentage") + "%" : "";
        return String.format(Locale.ROOT, "%-10s [%s] %3d%%  pass %d  dirty %d pages/s  %.0f Mbit/s  sent %s  ETA %s%s",
                status, bar, pct, passes, dirtyRate, mbps, bytes(transferred), eta, throttle);
    }

    private static void summary(Map<String, Object> q, long wallMs, PrintStream out) {
        Map<String, Object> ram = asMap(q.get("ram"));
        out.println("migration completed:");
        out.println("  total time     " + num(q.get("total-time")) + " ms (setup " + num(q.get("setup-time")) + " ms)");
        out.println("  downtime       " + num(q.get("downtime")) + " ms");
        out.println("  transferred    " + bytes(num(ram.get("transferred"))) + " (" + num(ram.get("normal"))
                + " pages sent whole, " + num(ram.get("duplicate")) + " zero pages)");
        out.println("  passes         " + num(ram.get("dirty-sync-count")) + " dirty syncs");
        out.println("  throughput     " + String.format(Locale.ROOT, "%.0f Mbit/s", ram.get("mbps") instanceof Number n
                ? n.doubleValue() : 0.0));
        out.println("  throttle       " + (q.containsKey("cpu-throttle-percentage") ? q.get("cpu-throttle-percentage") + "%"
                : "none at the end"));
    }

    private static void awaitGuestRunning(QmpClient src) throws IOException, TimeoutException, InterruptedException {
        awaitStatus(src, "running", Duration.ofSeconds(30));
    }

    private static void awaitStatus(QmpClient c, String want, Duration timeout)
            throws IOException, TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String now;
        while (!(now = String.valueOf(asMap(c.execute("query-status", QMP_TIMEOUT)).get("status"))).equals(want)) {
            if (System.nanoTime() > deadline) throw new TimeoutException("status " + now + ", expected " + want + " within " + timeout);
            Thread.sleep(50);
        }
    }

    /** After a failure: which child ended and how, and the last lines of each one's stderr. */
    private static void reportChildren(Path work, List<Process> children, PrintStream err) {
        String[] names = {"dst", "src"};
        for (int i = 0; i < children.size() && i < names.length; i++) {
            Process p = children.get(i);
            String who = names[i].equals("dst") ? "destination" : "source";
            err.println("livemig demo: " + who + " process " + p.pid()
                    + (p.isAlive() ? " still running" : " exited with status " + p.exitValue()));
            try {
                List<String> lines = Files.readAllLines(work.resolve(names[i] + ".err"));
                for (String l : lines.subList(Math.max(0, lines.size() - 15), lines.size())) err.println("  " + who + ": " + l);
                Path crash = work.resolve(names[i] + "-hs_err.log");
                if (Files.exists(crash)) {
                    err.println("  " + who + " JVM crash report (" + crash.getFileName() + "), first lines:");
                    List<String> c = Files.readAllLines(crash);
                    for (String l : c.subList(0, Math.min(25, c.size()))) err.println("    " + l);
                }
            } catch (IOException e) {
                err.println("  (no log: " + e.getMessage() + ")");
            }
        }
    }

    private static Process start(Path work, String name, List<String> runArgs) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-XX:ErrorFile=" + work.resolve(name + "-hs_err.log")); // a JVM crash report where we look
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.add("run");
        cmd.addAll(runArgs);
        return new ProcessBuilder(cmd)
                .redirectOutput(work.resolve(name + ".out").toFile())
                .redirectError(work.resolve(name + ".err").toFile())
                .start();
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static Options parse(String[] args) {
        long memory = 256L << 20;
        String accel = "auto";
        long downtime = 300;
        long bandwidth = 0;
        boolean autoConverge = true;
        boolean xbzrle = false;
        boolean keep = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "-h", "--help" -> {
                    return null;
                }
                case "--memory" -> {
                    String v = value(args, ++i, a);
                    try {
                        memory = io.livemig.transport.ByteSizes.parse(v);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--memory " + v + ": expected a size like 256M or 1G");
                    }
                }
                case "--accel" -> {
                    accel = value(args, ++i, a);
                    if (!List.of("auto", "kvm", "java").contains(accel)) {
                        throw new IllegalArgumentException("--accel " + accel + ": expected auto, kvm or java");
                    }
                }
                case "--downtime-limit" -> downtime = longArg(value(args, ++i, a), a);
                case "--max-bandwidth" -> bandwidth = longArg(value(args, ++i, a), a);
                case "--no-auto-converge" -> autoConverge = false;
                case "--xbzrle" -> xbzrle = true;
                case "--keep" -> keep = true;
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (memory < 101L << 20) {
            throw new IllegalArgumentException("--memory " + memory + " bytes: the A-B guest needs at least 101M");
        }
        return new Options(memory, accel, downtime, bandwidth, autoConverge, xbzrle, keep);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) throw new IllegalArgumentException(option + " needs a value");
        return args[i];
    }

    private static long longArg(String v, String option) {
        try {
            long l = Long.parseLong(v);
            if (l < 0) throw new NumberFormatException();
            return l;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " " + v + ": expected a non-negative integer");
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        if (o instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new IllegalStateException("expected a JSON object, got " + o);
    }

    private static long num(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }

    static String bytes(long b) {
        if (b >= 1L << 30) return String.format(Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
        if (b >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        if (b >= 1L << 10) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        return b + " B";
    }

    private interface IoCall {
        void run() throws Exception;
    }

    private static void quietly(IoCall c) {
        try {
            c.run();
        } catch (Exception ignored) {
            // the process may close the socket while replying to quit
        }
    }

    private static void deleteTree(Path p) {
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a temp folder
        }
    }
}
