package io.livemig.bench.compare;

import io.livemig.engine.qmp.Json;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeoutException;

/**
 * Static precopy, livemig side by side with QEMU 7.2 in one invocation: guest RAM full of random data, source
 * paused ({@code -S}), plain precopy over loopback TCP, {@code -M none} on both sides (livemig
 * {@code --machine none} is stream-compatible).
 *
 * <p>Per variant and repeat: start the source and wait for its QMP; start the destination ({@code t0}) and wait
 * for its QMP greeting ({@code ready}: QEMU answers only after {@code -mem-prealloc} is done; livemig answers at
 * once and prefaults in the background); send {@code migrate} ({@code tMigrate}); poll the destination's
 * {@code query-status} every 2 ms until it leaves {@code inmigrate} ({@code done}: all RAM loaded). Two times:
 * <ul>
 *   <li>{@code migrate_ms} = done - tMigrate, what QEMU users usually quote; it hides a prealloc done at start;</li>
 *   <li>{@code start_to_done_ms} = done - t0, with {@code migrate} sent as soon as the destination answers: counts
 *       every cost of the destination, QEMU's prealloc and livemig's JVM start and prefault alike. This is the
 *       fair one.</li>
 * </ul>
 * Both sources get the same {@code max-bandwidth} (default 10^12 B/s, i.e. unlimited here); other parameters
 * are defaults. Usage: {@code StaticMigrationComparison [--memory 1G] [--repeats 3] [--out FILE] [--work DIR]
 * [--max-bandwidth BYTES_PER_SEC] [--variants a,b,...]}.
 */
public final class StaticMigrationComparison {
    private static final List<String> ALL_VARIANTS = List.of("qemu-default", "qemu-mem-prealloc",
            "qemu-prealloc-2threads", "livemig", "livemig-prealloc-off", "x-qemu-src-livemig-dst",
            "x-livemig-src-qemu-prealloc-dst");
    /** Default set; the x- mixed pairs (one engine each side) are diagnostics, run with --variants. */
    private static final List<String> DEFAULT_VARIANTS = ALL_VARIANTS.subList(0, 5);

    private StaticMigrationComparison() {
    }

    public static void main(String[] args) throws Exception {
        String memory = "1G";
        int repeats = 3;
        Path out = Path.of("bench/results/static-compare.json");
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "livemig-compare");
        List<String> variants = DEFAULT_VARIANTS;
        long maxBandwidth = 1_000_000_000_000L;
        int multifdChannels = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--memory" -> memory = args[++i];
                case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                case "--variants" -> variants = List.of(args[++i].split(","));
                case "--max-bandwidth" -> maxBandwidth = Long.parseLong(args[++i]);
                case "--multifd-channels" -> multifdChannels = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "', expected --memory SIZE --repeats N --out FILE --work DIR --max-bandwidth BYTES_PER_SEC"
                        + " --multifd-channels N --variants "
                        + String.join(",", ALL_VARIANTS));
            }
        }
        for (String v : variants) {
            if (!ALL_VARIANTS.contains(v)) throw new IllegalArgumentException("variant '" + v + "', expected one of " + ALL_VARIANTS);
        }
        long bytes = io.livemig.transport.ByteSizes.parse(memory);
        Files.createDirectories(work);
        Path random = work.resolve("random-" + bytes + ".bin");
        writeRandom(random, bytes);

        String loadBefore = CompareSupport.loadAverage();
        Map<String, List<Double>> migrate = new LinkedHashMap<>();
        Map<String, List<Double>> startToDone = new LinkedHashMap<>();
        Map<String, List<Double>> ready = new LinkedHashMap<>();
        Map<String, List<Double>> prefault = new LinkedHashMap<>();
        Map<String, List<Double>> warmup = new LinkedHashMap<>();
        List<String> loads = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
            loads.add(CompareSupport.loadAverage());
            // Rotate the order each repeat so a burst of load from other users does not always hit one variant.
            for (int k = 0; k < variants.size(); k++) {
                String v = variants.get((k + r) % variants.size());
                Run run = runOnce(v, memory, random, work, maxBandwidth, multifdChannels);
                migrate.computeIfAbsent(v, x -> new ArrayList<>()).add(run.migrateMs);
                startToDone.computeIfAbsent(v, x -> new ArrayList<>()).add(run.startToDoneMs);
                ready.computeIfAbsent(v, x -> new ArrayList<>()).add(run.readyMs);
                if (run.prefaultMs >= 0) prefault.computeIfAbsent(v, x -> new ArrayList<>()).add(run.prefaultMs);
                if (run.warmupMs >= 0) warmup.computeIfAbsent(v, x -> new ArrayList<>()).add(run.warmupMs);
                System.err.printf("static-compare: repeat %d %-24s migrate %8.1f ms  start->done %8.1f ms  dest ready %7.1f ms%s%s%n",
                        r + 1, v, run.migrateMs, run.startToDoneMs, run.readyMs,
                        run.prefaultMs >= 0 ? String.format("  prefault %.0f ms", run.prefaultMs) : "",
                        run.warmupMs >= 0 ? String.format("  jit warm-up %.0f ms", run.warmupMs) : "");
            }
        }
        String loadAfter = CompareSupport.loadAverage();

        Map<String, Object> table = new LinkedHashMap<>();
        for (String v : variants) {
            table.put(v, Json.obj("migrate_ms", CompareSupport.summary(migrate.get(v)),
                    "start_to_done_ms", CompareSupport.summary(startToDone.get(v)),
                    "dest_ready_ms", CompareSupport.summary(ready.get(v)),
                    "prefault_ms", prefault.containsKey(v) ? CompareSupport.summary(prefault.get(v)) : null,
                    "jit_warmup_ms", warmup.containsKey(v) ? CompareSupport.summary(warmup.get(v)) : null));
        }
        Map<String, Object> ratios = new LinkedHashMap<>();
        for (String lm : List.of("livemig", "livemig-prealloc-off")) {
            if (!table.containsKey(lm)) continue;
            for (String q : List.of("qemu-default", "qemu-mem-prealloc", "qemu-prealloc-2threads")) {
                if (!table.containsKey(q)) continue;
                for (String metric : List.of("start_to_done_ms", "migrate_ms")) {
                    ratios.put(lm + "/" + q + " " + metric, CompareSupport.ratio(
                            medianOf(table, lm, metric), medianOf(table, q, metric)));
                }
            }
        }
        Map<String, Object> result = Json.obj(
                "benchmark", "static precopy, " + memory + " random RAM, source paused, loopback tcp, -M none"
                        + (multifdChannels > 0 ? ", multifd with " + multifdChannels + " channels (compression none)" : ""),
                "multifd_channels", multifdChannels,
                "qemu", CompareSupport.qemuVersion(),
                "java", System.getProperty("java.version"),
                "repeats", repeats,
                "source_max_bandwidth_bytes_per_sec", maxBandwidth,
                "parameters", "all defaults except max-bandwidth, set equal on both sources (QEMU 7.2's default is"
                        + " 128 MiB/s, livemig's is unlimited)",
                "loadavg_before", loadBefore, "loadavg_per_repeat", loads, "loadavg_after", loadAfter,
                "timing", "t0 = destination process spawned; ready = destination QMP greeting answered (QEMU: after"
                        + " -mem-prealloc); migrate sent right after ready; done = destination query-status leaves"
                        + " inmigrate (polled every 2 ms). migrate_ms = done - migrate; start_to_done_ms = done - t0"
                        + " (counts QEMU prealloc and livemig JVM start, JIT warm-up and background prefault)."
                        + " livemig's ready includes its JIT warm-up (--jit-warmup auto: on from 256M), as QEMU's"
                        + " includes -mem-prealloc.",
                "variants", Json.obj(
                        "qemu-default", "qemu -M none -m SIZE -incoming tcp:...",
                        "qemu-mem-prealloc", "qemu ... -mem-prealloc (prealloc threads default: 1)",
                        "qemu-prealloc-2threads", "qemu -object memory-backend-ram,id=ram,prealloc=on,prealloc-threads=2"
                                + " -machine none,memory-backend=ram",
                        "livemig", "livemig run --machine none --incoming tcp:... (default --prealloc auto = on:"
                                + " background MADV_POPULATE_WRITE of THP-advised RAM on all CPUs from process start;"
                                + " default --jit-warmup auto = on from 256M, before the QMP greeting; the source too)",
                        "livemig-prealloc-off", "livemig run ... --prealloc off"),
                "results", table,
                "ratios_median", ratios);
        CompareSupport.writeJson(out, result);
        printTable(table, ratios, loadBefore, loadAfter);
        System.out.println("written " + out);
    }

    private static double medianOf(Map<String, Object> table, String variant, String metric) {
        @SuppressWarnings("unchecked")
        Map<String, Object> row = (Map<String, Object>) table.get(variant);
        @SuppressWarnings("unchecked")
        Map<String, Object> s = (Map<String, Object>) row.get(metric);
        return CompareSupport.median(s);
    }

    private record Run(double migrateMs, double startToDoneMs, double readyMs, double prefaultMs, double warmupMs) {
    }

    /**
     * One migration. With {@code multifdChannels > 0} both sides turn on the multifd capability with that many
     * channels; the destination then starts with {@code -incoming defer} (QEMU needs the capability set before
     * it listens) and gets migrate-incoming once set up, right before the source's migrate.
     */
    private static Run runOnce(String variant, String memory, Path random, Path work, long maxBandwidth,
                               int multifdChannels) throws IOException, TimeoutException, InterruptedException {
        boolean multifd = multifdChannels > 0;
        boolean livemigSrc = variant.startsWith("livemig") || variant.equals("x-livemig-src-qemu-prealloc-dst");
        boolean livemig = variant.startsWith("livemig") || variant.equals("x-qemu-src-livemig-dst");
        int port = CompareSupport.freePort();
        String uri = "tcp:127.0.0.1:" + port;
        Path srcSock = work.resolve("src.qmp");
        Path dstSock = work.resolve("dst.qmp");
        List<String> src;
        List<String> dst;
        if (livemigSrc) {
            src = CompareSupport.livemigRun(List.of("--machine", "none", "--memory", memory, "--load", random + "@0",
                    "-S", "--qmp", "unix:" + srcSock));
        } else {
            src = List.of(CompareSupport.QEMU, "-M", "none", "-nodefaults", "-display", "none", "-m", memory,
                    "-device", "loader,file=" + random + ",addr=0,force-raw=on", "-S",
                    "-qmp", "unix:" + srcSock + ",server=on,wait=off");
        }
        if (livemig) {
            List<String> d = new ArrayList<>(List.of("--machine", "none", "--memory", memory, "--incoming",
                    multifd ? "defer" : uri, "--qmp", "unix:" + dstSock));
            if (variant.equals("livemig-prealloc-off")) d.addAll(List.of("--prealloc", "off"));
            dst = CompareSupport.livemigRun(d);
        } else {
            List<String> d = new ArrayList<>(List.of(CompareSupport.QEMU, "-nodefaults", "-display", "none",
                    "-m", memory, "-qmp", "unix:" + dstSock + ",server=on,wait=off", "-incoming", multifd ? "defer" : uri));
            switch (variant) {
                case "qemu-default" -> d.addAll(List.of("-M", "none"));
                case "qemu-mem-prealloc", "x-livemig-src-qemu-prealloc-dst" -> d.addAll(List.of("-M", "none", "-mem-prealloc"));
                case "qemu-prealloc-2threads" -> d.addAll(List.of("-M", "none,memory-backend=ram", "-object",
                        "memory-backend-ram,id=ram,size=" + memory + ",prealloc=on,prealloc-threads=2"));
                default -> throw new AssertionError(variant);
            }
            dst = d;
        }
        try (CompareSupport.Child s = new CompareSupport.Child(variant + "-src", src, srcSock, work.resolve("src.log"))) {
            String st = String.valueOf(s.execMap("query-status").get("status"));
            if (!st.equals("prelaunch")) throw new IOException(s.name + ": status " + st + ", expected prelaunch");
            // Same limit on both: QEMU 7.2 defaults to 128 MiB/s (it would measure the limit), livemig to none.
            s.exec("migrate-set-parameters", "max-bandwidth", maxBandwidth);
            if (multifd) enableMultifd(s, multifdChannels);
            Path dstLog = work.resolve("dst.log");
            Run run;
            try (CompareSupport.Child d = new CompareSupport.Child(variant + "-dst", dst, dstSock, dstLog)) {
                d.qmp();
                long ready = System.nanoTime();
                String ds = String.valueOf(d.execMap("query-status").get("status"));
                if (!ds.equals("inmigrate")) throw new IOException(d.name + ": status " + ds + ", expected inmigrate");
                if (multifd) {
                    enableMultifd(d, multifdChannels);
                    d.exec("migrate-incoming", "uri", uri);
                }
                long tMigrate = System.nanoTime();
                s.exec("migrate", "uri", uri);
                long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
                String status;
                while ((status = String.valueOf(d.execMap("query-status").get("status"))).equals("inmigrate")) {
                    if (System.nanoTime() > deadline) throw new TimeoutException(d.name + ": still inmigrate after 2 min");
                    Thread.sleep(2);
                }
                long done = System.nanoTime();
                if (!(status.equals("prelaunch") || status.equals("paused"))) {
                    throw new IOException(d.name + ": status " + status + " after migration, expected prelaunch or paused\n"
                            + d.tail());
                }
                CompareSupport.awaitMigration(s, Duration.ofSeconds(30), 5, x -> x.equals("completed"));
                run = new Run(CompareSupport.millisSince(tMigrate, done), CompareSupport.millisSince(d.startNanos, done),
                        CompareSupport.millisSince(d.startNanos, ready), -1, -1);
            }
            // The dst log is complete once the process ended (close() quit it and joined its prefault).
            return livemig ? new Run(run.migrateMs, run.startToDoneMs, run.readyMs,
                    CompareSupport.livemigPrefaultMillis(dstLog), CompareSupport.livemigWarmupMillis(dstLog)) : run;
        }
    }

    private static void enableMultifd(CompareSupport.Child c, int channels) throws IOException, TimeoutException {
        c.exec("migrate-set-capabilities", "capabilities", List.of(Json.obj("capability", "multifd", "state", true)));
        c.exec("migrate-set-parameters", "multifd-channels", (long) channels);
    }

    /** Writes {@code bytes} of random data once (kept for later runs: same size, same content). */
    private static void writeRandom(Path file, long bytes) throws IOException {
        if (Files.exists(file) && Files.size(file) == bytes) return;
        System.err.println("static-compare: writing " + bytes + " random bytes to " + file);
        SplittableRandom rnd = new SplittableRandom(0x5EED);
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream o = Files.newOutputStream(tmp)) {
            for (long done = 0; done < bytes; done += buf.capacity()) {
                buf.clear();
                while (buf.remaining() >= 8) buf.putLong(rnd.nextLong());
                o.write(buf.array(), 0, (int) Math.min(buf.capacity(), bytes - done));
            }
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static void printTable(Map<String, Object> table, Map<String, Object> ratios, String l0, String l1) {
        System.out.printf("%-24s %22s %22s %18s %14s %14s%n", "variant", "migrate->done ms", "dest start->done ms",
                "dest ready ms", "prefault ms", "jit warm-up ms");
        for (Map.Entry<String, Object> e : table.entrySet()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> row = (Map<String, Object>) e.getValue();
            System.out.printf("%-24s %22s %22s %18s %14s %14s%n", e.getKey(), cell(row.get("migrate_ms")),
                    cell(row.get("start_to_done_ms")), cell(row.get("dest_ready_ms")), cell(row.get("prefault_ms")),
                    cell(row.get("jit_warmup_ms")));
        }
        System.out.println("ratios of medians (lower is better for livemig):");
        ratios.forEach((k, v) -> System.out.printf("  %-62s %s%n", k, v));
        System.out.println("loadavg before: " + l0 + "  after: " + l1);
    }

    @SuppressWarnings("unchecked")
    private static String cell(Object summary) {
        if (summary == null) return "-";
        Map<String, Object> s = (Map<String, Object>) summary;
        return s.get("median") + " [" + s.get("min") + "-" + s.get("max") + "]";
    }
}
