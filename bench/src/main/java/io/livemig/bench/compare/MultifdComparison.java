package io.livemig.bench.compare;

import io.livemig.engine.qmp.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeoutException;
import java.util.zip.Deflater;

/**
 * Multifd, livemig side by side with QEMU 7.2 in one invocation (issue 6's two missing measurements): guest RAM
 * full of deterministic pseudo-text (compressible), source paused ({@code -S}), loopback TCP, {@code -M none} on
 * both sides, multifd with the same channel count on both sides (default 2).
 * <ul>
 *   <li>compression: {@code multifd-compression} none, zlib, zstd (levels left at their defaults, recorded);</li>
 *   <li>zero-copy-send: compression none plus the {@code zero-copy-send} capability on the source. On loopback
 *       the kernel copies MSG_ZEROCOPY sends (the receiver gets the pages at once); the counters that say so
 *       ({@code ram.dirty-sync-missed-zero-copy}, livemig's {@code x-livemig-multifd.zero-copy-copied-completions})
 *       are reported. For QEMU the first zero-copy run tries the source without extra options and, if that
 *       fails, with {@code -overcommit mem-lock=on}; what worked (or both errors) goes into the results.</li>
 * </ul>
 * Per run: both sides get multifd (channels, compression) before the destination's {@code migrate-incoming};
 * CPU time (utime+stime of /proc/PID/stat) of source and destination is read right before {@code migrate} and
 * right after the destination leaves {@code inmigrate} (polled every 2 ms); migrate_ms is the time between.
 * Both sources get the same {@code max-bandwidth} (default 10^12 B/s, i.e. unlimited here).
 *
 * <p>Usage: {@code MultifdComparison [--memory 1G] [--repeats 3] [--multifd-channels 2] [--out FILE] [--work DIR]
 * [--max-bandwidth BYTES_PER_SEC] [--qemu-dest-prealloc] [--src-drop-cap-ipc-lock] [--variants a,b,...]}.
 */
public final class MultifdComparison {
    private static final List<String> ALL_VARIANTS = List.of("qemu-none", "livemig-none", "qemu-zlib",
            "livemig-zlib", "qemu-zstd", "livemig-zstd", "qemu-zerocopy", "livemig-zerocopy");
    private static final List<String> PAIRS = List.of("none", "zlib", "zstd", "zerocopy");
    private static final List<String> QEMU_ZERO_COPY_EXTRA = List.of("-overcommit", "mem-lock=on");
    private static final double GIB = 1024.0 * 1024 * 1024;
    private static final double MIB = 1024.0 * 1024;

    private MultifdComparison() {
    }

    /** A variant: which engine on both sides, which multifd compression, zero-copy-send or not. */
    private record Variant(String name, boolean livemig, String compression, boolean zeroCopy) {
        static Variant of(String name) {
            String kind = name.substring(name.indexOf('-') + 1);
            boolean zc = kind.equals("zerocopy");
            return new Variant(name, name.startsWith("livemig"), zc ? "none" : kind, zc);
        }
    }

    /** What one migration measured. {@code wireBytes} is -1 where the engine does not report it. */
    private record Run(double migrateMs, double srcCpuMs, double dstCpuMs, long multifdBytes, long transferred,
                       long wireBytes, long missedZeroCopy, long zeroCopyCopied, Map<String, Object> params) {
    }

    private static final class Options {
        String memory = "1G";
        long bytes;
        int repeats = 3;
        int channels = 2;
        long maxBandwidth = 1_000_000_000_000L;
        boolean qemuDestPrealloc;
        boolean srcDropIpcLock;
        Path work;
    }

    public static void main(String[] args) throws Exception {
        Options o = new Options();
        Path out = Path.of("bench/results/multifd-compare.json");
        o.work = Path.of(System.getProperty("java.io.tmpdir"), "livemig-compare");
        List<String> variants = ALL_VARIANTS;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--memory" -> o.memory = args[++i];
                case "--repeats" -> o.repeats = Integer.parseInt(args[++i]);
                case "--multifd-channels" -> o.channels = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--work" -> o.work = Path.of(args[++i]);
                case "--variants" -> variants = List.of(args[++i].split(","));
                case "--max-bandwidth" -> o.maxBandwidth = Long.parseLong(args[++i]);
                case "--qemu-dest-prealloc" -> o.qemuDestPrealloc = true;
                case "--src-drop-cap-ipc-lock" -> o.srcDropIpcLock = true;
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "', expected --memory SIZE --repeats N --multifd-channels N --out FILE --work DIR"
                        + " --max-bandwidth BYTES_PER_SEC --qemu-dest-prealloc --src-drop-cap-ipc-lock --variants "
                        + String.join(",", ALL_VARIANTS));
            }
        }
        for (String v : variants) {
            if (!ALL_VARIANTS.contains(v)) throw new IllegalArgumentException("variant '" + v + "', expected one of " + ALL_VARIANTS);
        }
        if (o.channels < 1) throw new IllegalArgumentException("--multifd-channels must be at least 1");
        o.bytes = io.livemig.transport.ByteSizes.parse(o.memory);
        Files.createDirectories(o.work);
        Path text = o.work.resolve("text-" + o.bytes + ".txt");
        writeText(text, o.bytes);
        double deflateRatio = deflateRatio(text, Math.min(o.bytes, 64L << 20));
        System.err.printf("multifd-compare: %s, zlib level 1 ratio %.2f over the first %d MiB%n", text, deflateRatio,
                Math.min(o.bytes, 64L << 20) >> 20);

        String loadBefore = CompareSupport.loadAverage();
        Map<String, List<Run>> runs = new LinkedHashMap<>();
        Map<String, List<String>> errors = new LinkedHashMap<>();
        List<String> loads = new ArrayList<>();
        QemuZeroCopy qzc = new QemuZeroCopy();
        for (int r = 0; r < o.repeats; r++) {
            loads.add(CompareSupport.loadAverage());
            // Rotate the order each repeat so a burst of load from other users does not always hit one variant.
            for (int k = 0; k < variants.size(); k++) {
                Variant v = Variant.of(variants.get((k + r) % variants.size()));
                Run run;
                try {
                    run = v.zeroCopy && !v.livemig ? qzc.run(v, o, text) : runOnce(v, o, text, List.of());
                } catch (IOException | TimeoutException e) {
                    String msg = e.getMessage();
                    errors.computeIfAbsent(v.name, x -> new ArrayList<>()).add(msg);
                    System.err.printf("multifd-compare: repeat %d %-17s FAILED: %s%n", r + 1, v.name, msg);
                    continue;
                }
                if (run == null) continue; // QEMU zero-copy refused: recorded once in qzc
                runs.computeIfAbsent(v.name, x -> new ArrayList<>()).add(run);
                System.err.printf("multifd-compare: repeat %d %-17s migrate %8.1f ms  %6.3f GiB/s  src cpu %7.0f ms"
                                + "  dst cpu %7.0f ms  wire %s%s%n", r + 1, v.name, run.migrateMs,
                        o.bytes / GIB / (run.migrateMs / 1000), run.srcCpuMs, run.dstCpuMs,
                        run.wireBytes >= 0 ? String.format("%.1f MiB", run.wireBytes / MIB) : "n/a",
                        v.zeroCopy ? String.format("  missed-zero-copy %d  zero-copy-copied %s", run.missedZeroCopy,
                                run.zeroCopyCopied >= 0 ? String.valueOf(run.zeroCopyCopied) : "n/a") : "");
            }
        }
        String loadAfter = CompareSupport.loadAverage();

        double gib = o.bytes / GIB;
        Map<String, Object> table = new LinkedHashMap<>();
        for (String name : variants) {
            List<Run> rs = runs.getOrDefault(name, List.of());
            Variant v = Variant.of(name);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("engine", v.livemig ? "livemig" : "qemu");
            row.put("multifd_compression", v.compression);
            row.put("zero_copy_send", v.zeroCopy);
            row.put("runs", (long) rs.size());
            if (!rs.isEmpty()) {
                row.put("migrate_ms", CompareSupport.summary(map(rs, Run::migrateMs)));
                row.put("ram_gib_per_s", summary3(map(rs, x -> gib / (x.migrateMs / 1000))));
                row.put("src_cpu_ms", CompareSupport.summary(map(rs, Run::srcCpuMs)));
                row.put("src_cpu_ms_per_gib", CompareSupport.summary(map(rs, x -> x.srcCpuMs / gib)));
                row.put("src_cpu_cores", summary3(map(rs, x -> x.srcCpuMs / x.migrateMs)));
                row.put("dst_cpu_ms", CompareSupport.summary(map(rs, Run::dstCpuMs)));
                row.put("dst_cpu_ms_per_gib", CompareSupport.summary(map(rs, x -> x.dstCpuMs / gib)));
                row.put("dst_cpu_cores", summary3(map(rs, x -> x.dstCpuMs / x.migrateMs)));
                row.put("multifd_bytes", rs.stream().map(Run::multifdBytes).toList());
                row.put("transferred_bytes", rs.stream().map(Run::transferred).toList());
                if (rs.getFirst().wireBytes >= 0) {
                    row.put("wire_bytes", rs.stream().map(Run::wireBytes).toList());
                    row.put("wire_mib_per_s", CompareSupport.summary(map(rs, x -> x.wireBytes / MIB / (x.migrateMs / 1000))));
                    row.put("ram_to_wire_ratio", summary3(map(rs, x -> (double) o.bytes / x.wireBytes)));
                } else {
                    row.put("wire_bytes", null);
                    row.put("wire_bytes_note", "QEMU 7.2 does not report compressed multifd bytes: its ram.multifd-bytes"
                            + " counts packet headers plus uncompressed pages when pages are queued");
                }
                if (v.zeroCopy) {
                    List<Long> missed = rs.stream().map(Run::missedZeroCopy).toList();
                    List<Long> copied = rs.stream().map(Run::zeroCopyCopied).toList();
                    row.put("zero_copy", Json.obj(
                            "dirty_sync_missed_zero_copy", missed,
                            "zero_copy_copied_completions", v.livemig ? copied : null,
                            "kernel", kernelVerdict(v.livemig, missed, copied)));
                }
                row.put("source_parameters", rs.getFirst().params);
            }
            if (errors.containsKey(name)) row.put("errors", errors.get(name));
            if (v.zeroCopy && !v.livemig) row.put("qemu_zero_copy_send", qzc.report());
            table.put(name, row);
        }
        Map<String, Object> ratios = new LinkedHashMap<>();
        for (String pair : PAIRS) {
            Map<String, Object> l = row(table, "livemig-" + pair);
            Map<String, Object> q = row(table, "qemu-" + pair);
            if (l == null || q == null) continue;
            for (String metric : List.of("migrate_ms", "src_cpu_ms_per_gib", "dst_cpu_ms_per_gib")) {
                ratios.put("livemig/qemu " + pair + " " + metric, CompareSupport.ratio(medianOf(l, metric), medianOf(q, metric)));
            }
        }
        for (String engine : List.of("qemu", "livemig")) {
            Map<String, Object> zc = row(table, engine + "-zerocopy");
            Map<String, Object> none = row(table, engine + "-none");
            if (zc == null || none == null) continue;
            for (String metric : List.of("migrate_ms", "src_cpu_ms_per_gib")) {
                ratios.put(engine + " zerocopy/none " + metric, CompareSupport.ratio(medianOf(zc, metric), medianOf(none, metric)));
            }
        }
        Map<String, Object> result = Json.obj(
                "benchmark", "multifd (" + o.channels + " channels), " + o.memory + " pseudo-text RAM, source paused,"
                        + " loopback tcp, -M none: compression none/zlib/zstd and zero-copy-send, livemig->livemig vs"
                        + " QEMU->QEMU",
                "qemu", CompareSupport.qemuVersion(),
                "java", System.getProperty("java.version"),
                "kernel", kernelRelease(),
                "repeats", (long) o.repeats,
                "memory", o.memory,
                "ram_bytes", o.bytes,
                "multifd_channels", (long) o.channels,
                "data", Json.obj("file", text.toString(),
                        "kind", "deterministic pseudo-text: 256 made-up words (skewed choice), spaces, commas,"
                                + " full stops, ~72-column lines (seed 0x7E47)",
                        "zlib_level1_ratio", Math.round(deflateRatio * 1000) / 1000.0,
                        "zlib_ratio_over_bytes", Math.min(o.bytes, 64L << 20)),
                "source_max_bandwidth_bytes_per_sec", o.maxBandwidth,
                "parameters", "multifd on both sides with multifd-channels " + o.channels + " and the variant's"
                        + " multifd-compression; multifd-zlib-level and multifd-zstd-level left at defaults (recorded per"
                        + " variant under source_parameters; QEMU 7.2: zlib 1, zstd 1); max-bandwidth equal on both"
                        + " sources; zero-copy-send capability only on the source",
                "destinations", Json.obj(
                        "qemu", "qemu -M none -nodefaults -display none -m SIZE -incoming defer"
                                + (o.qemuDestPrealloc ? " -mem-prealloc" : " (no prealloc: QEMU default)"),
                        "livemig", "livemig run --machine none --memory SIZE --incoming defer (defaults: background"
                                + " prefault, JIT warm-up from 256M before the QMP greeting)"),
                "source_drop_cap_ipc_lock", o.srcDropIpcLock,
                "memlock", memlockInfo(),
                "loadavg_before", loadBefore, "loadavg_per_repeat", loads, "loadavg_after", loadAfter,
                "timing", "migrate-incoming on the destination, then CPU (utime+stime, /proc/PID/stat, clock ticks of"
                        + " 1/" + CompareSupport.clockTicksPerSecond() + " s) of both processes, then migrate"
                        + " (tMigrate); done = destination query-status leaves inmigrate (polled every 2 ms; the"
                        + " source's query-migrate every 250 ms to catch failures); CPU read again at done."
                        + " migrate_ms = done - tMigrate; ram_gib_per_s = RAM size / migrate_ms; cpu_ms_per_gib ="
                        + " cpu_ms / RAM GiB; cpu_cores = cpu_ms / migrate_ms. livemig's CPU includes its JVM (JIT,"
                        + " GC). Only CPU spent between migrate and done counts: livemig's destination prefaults RAM in"
                        + " the background from process start (its default), so the part done before migrate is not"
                        + " counted, whereas a QEMU destination without -mem-prealloc faults its RAM in during the"
                        + " migration (counted); --qemu-dest-prealloc moves QEMU's out of the window too.",
                "wire", "wire_bytes: bytes the multifd channels actually carried. livemig: x-livemig-multifd.wire-bytes;"
                        + " QEMU 7.2 with compression none: ram.multifd-bytes (equal to the wire bytes then); QEMU 7.2"
                        + " with compression: not reported (multifd-bytes counts uncompressed pages).",
                "results", table,
                "ratios_median", ratios);
        CompareSupport.writeJson(out, result);
        printTable(table, ratios, deflateRatio, loadBefore, loadAfter, qzc);
        System.out.println("written " + out);
    }

    /**
     * QEMU's zero-copy-send: the first run tries the plain source, then one with {@code -overcommit mem-lock=on};
     * later runs use whatever worked, and none if neither did (both errors are reported).
     */
    private static final class QemuZeroCopy {
        final List<Object> attempts = new ArrayList<>();
        List<String> extra;
        boolean refused;

        Run run(Variant v, Options o, Path text) throws IOException, TimeoutException, InterruptedException {
            if (refused) return null;
            if (extra != null) return runOnce(v, o, text, extra);
            for (List<String> e : List.of(List.<String>of(), QEMU_ZERO_COPY_EXTRA)) {
                try {
                    Run r = runOnce(v, o, text, e);
                    attempts.add(Json.obj("source_extra_args", String.join(" ", e), "result", "ok"));
                    extra = e;
                    return r;
                } catch (IOException | TimeoutException ex) {
                    attempts.add(Json.obj("source_extra_args", String.join(" ", e), "result", "failed",
                            "error", ex.getMessage()));
                    System.err.println("multifd-compare: qemu zero-copy-send with source args '" + String.join(" ", e)
                            + "' failed: " + ex.getMessage());
                }
            }
            refused = true;
            return null;
        }

        Map<String, Object> report() {
            String needed = refused ? "refused with and without " + String.join(" ", QEMU_ZERO_COPY_EXTRA)
                    : extra == null ? "not run" : extra.isEmpty() ? "nothing extra" : String.join(" ", extra);
            return Json.obj("needed", needed, "attempts", attempts);
        }
    }

    private static Run runOnce(Variant v, Options o, Path text, List<String> qemuSrcExtra)
            throws IOException, TimeoutException, InterruptedException {
        int port = CompareSupport.freePort();
        String uri = "tcp:127.0.0.1:" + port;
        Path srcSock = o.work.resolve("mf-src.qmp");
        Path dstSock = o.work.resolve("mf-dst.qmp");
        List<String> src = new ArrayList<>();
        if (o.srcDropIpcLock && v.zeroCopy) {
            // bash execs the engine (same PID, so /proc/PID/stat stays right) without CAP_IPC_LOCK.
            src.addAll(List.of("capsh", "--drop=cap_ipc_lock", "--", "-c", "exec \"$0\" \"$@\""));
        }
        List<String> dst;
        if (v.livemig) {
            src.addAll(CompareSupport.livemigRun(List.of("--machine", "none", "--memory", o.memory,
                    "--load", text + "@0", "-S", "--qmp", "unix:" + srcSock)));
            dst = CompareSupport.livemigRun(List.of("--machine", "none", "--memory", o.memory, "--incoming", "defer",
                    "--qmp", "unix:" + dstSock));
        } else {
            src.addAll(List.of(CompareSupport.QEMU, "-M", "none", "-nodefaults", "-display", "none", "-m", o.memory,
                    "-device", "loader,file=" + text + ",addr=0,force-raw=on", "-S",
                    "-qmp", "unix:" + srcSock + ",server=on,wait=off"));
            src.addAll(qemuSrcExtra);
            List<String> d = new ArrayList<>(List.of(CompareSupport.QEMU, "-M", "none", "-nodefaults", "-display", "none",
                    "-m", o.memory, "-qmp", "unix:" + dstSock + ",server=on,wait=off", "-incoming", "defer"));
            if (o.qemuDestPrealloc) d.add("-mem-prealloc");
            dst = d;
        }
        try (CompareSupport.Child s = new CompareSupport.Child(v.name + "-src", src, srcSock, o.work.resolve("mf-src.log"))) {
            awaitListening(s);
            String st = String.valueOf(s.execMap("query-status").get("status"));
            if (!st.equals("prelaunch")) throw new IOException(s.name + ": status " + st + ", expected prelaunch");
            // Same limit on both: QEMU 7.2 defaults to 128 MiB/s (it would measure the limit), livemig to none.
            s.exec("migrate-set-parameters", "max-bandwidth", o.maxBandwidth);
            setUpMultifd(s, o.channels, v.compression, v.zeroCopy);
            Map<String, Object> params = sourceParameters(s);
            try (CompareSupport.Child d = new CompareSupport.Child(v.name + "-dst", dst, dstSock, o.work.resolve("mf-dst.log"))) {
                awaitListening(d);
                String ds = String.valueOf(d.execMap("query-status").get("status"));
                if (!ds.equals("inmigrate")) throw new IOException(d.name + ": status " + ds + ", expected inmigrate");
                setUpMultifd(d, o.channels, v.compression, false);
                d.exec("migrate-incoming", "uri", uri);
                long srcCpu0 = CompareSupport.cpuTicks(s.process.pid());
                long dstCpu0 = CompareSupport.cpuTicks(d.process.pid());
                long tMigrate = System.nanoTime();
                s.exec("migrate", "uri", uri);
                long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
                long nextSourceCheck = System.nanoTime() + 250_000_000L;
                String status;
                try {
                    while ((status = String.valueOf(d.execMap("query-status").get("status"))).equals("inmigrate")) {
                        long now = System.nanoTime();
                        if (now > deadline) throw new TimeoutException(d.name + ": still inmigrate after 5 min");
                        if (now > nextSourceCheck) {
                            checkSourceAlive(s, d);
                            nextSourceCheck = now + 250_000_000L;
                        }
                        Thread.sleep(2);
                    }
                } catch (IOException e) {
                    if (e.getMessage() != null && e.getMessage().startsWith(s.name + ":")) throw e;
                    // The destination went away (QEMU exits when an incoming migration fails): say why the source failed.
                    throw new IOException(d.name + ": " + e.getMessage() + "\n" + sourceOutcome(s)
                            + "\ndestination log:\n" + d.tail(), e);
                }
                long done = System.nanoTime();
                long srcCpu1 = CompareSupport.cpuTicks(s.process.pid());
                long dstCpu1 = CompareSupport.cpuTicks(d.process.pid());
                if (!(status.equals("prelaunch") || status.equals("paused"))) {
                    throw new IOException(d.name + ": status " + status + " after migration, expected prelaunch or paused\n"
                            + d.tail());
                }
                Map<String, Object> m = CompareSupport.awaitMigration(s, Duration.ofSeconds(30), 5, x -> x.equals("completed"));
                Map<String, Object> ram = submap(m, "ram");
                Map<String, Object> x = submap(m, "x-livemig-multifd");
                long multifdBytes = num(ram, "multifd-bytes");
                long wire = x != null ? num(x, "wire-bytes") : v.compression.equals("none") ? multifdBytes : -1;
                return new Run(CompareSupport.millisSince(tMigrate, done),
                        CompareSupport.ticksToMillis(srcCpu1 - srcCpu0), CompareSupport.ticksToMillis(dstCpu1 - dstCpu0),
                        multifdBytes, num(ram, "transferred"), wire, num(ram, "dirty-sync-missed-zero-copy"),
                        x != null ? num(x, "zero-copy-copied-completions") : -1, params);
            }
        }
    }

    /**
     * Waits until {@code c} accepts a connection on its QMP socket (then closes that probe; both QEMU and livemig
     * serve QMP clients one after another), failing at once with its log when the process exits first: QEMU
     * leaves its socket file behind when it exits at start-up (e.g. "mlockall: Cannot allocate memory"), and
     * {@link CompareSupport.Child#qmp()} would retry that for the whole QMP timeout.
     */
    private static void awaitListening(CompareSupport.Child c) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + CompareSupport.QMP_TIMEOUT.toNanos();
        while (true) {
            if (!c.process.isAlive()) {
                throw new IOException(c.name + ": exited with " + c.process.exitValue() + " before QMP answered; log "
                        + c.log + ":\n" + c.tail());
            }
            if (Files.exists(c.qmpSocket)) {
                try {
                    SocketChannel.open(UnixDomainSocketAddress.of(c.qmpSocket)).close();
                    return;
                } catch (IOException e) {
                    // not listening yet
                }
            }
            if (System.nanoTime() > deadline) return; // let qmp() report it
            Thread.sleep(10);
        }
    }

    /** Throws with the source's error when its migration failed (the destination then waits forever). */
    private static void checkSourceAlive(CompareSupport.Child s, CompareSupport.Child d) throws IOException, TimeoutException {
        if (!s.process.isAlive()) throw new IOException(s.name + ": exited with " + s.process.exitValue() + "\n" + s.tail());
        Map<String, Object> m = s.execMap("query-migrate");
        String st = String.valueOf(m.get("status"));
        if (st.equals("failed") || st.equals("cancelled")) {
            throw new IOException(s.name + ": migration " + st + (m.containsKey("error-desc") ? ": " + m.get("error-desc") : "")
                    + "\nsource log:\n" + s.tail() + "\ndestination log:\n" + d.tail());
        }
    }

    /** The source's migration status and error after the destination failed (waits up to 2 s for it to fail too). */
    private static String sourceOutcome(CompareSupport.Child s) {
        try {
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (true) {
                if (!s.process.isAlive()) return s.name + ": exited with " + s.process.exitValue() + "\n" + s.tail();
                Map<String, Object> m = s.execMap("query-migrate");
                String st = String.valueOf(m.get("status"));
                boolean over = st.equals("failed") || st.equals("cancelled") || st.equals("completed");
                if (over || System.nanoTime() > deadline) {
                    return s.name + ": migration " + st + (m.containsKey("error-desc") ? ": " + m.get("error-desc") : "")
                            + "\nsource log:\n" + s.tail();
                }
                Thread.sleep(20);
            }
        } catch (IOException | TimeoutException e) {
            return s.name + ": query-migrate failed: " + e.getMessage() + "\nsource log:\n" + s.tail();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return s.name + ": interrupted";
        }
    }

    private static void setUpMultifd(CompareSupport.Child c, int channels, String compression, boolean zeroCopy)
            throws IOException, TimeoutException {
        List<Object> caps = new ArrayList<>(List.of(Json.obj("capability", "multifd", "state", true)));
        if (zeroCopy) caps.add(Json.obj("capability", "zero-copy-send", "state", true));
        c.exec("migrate-set-capabilities", "capabilities", caps);
        c.exec("migrate-set-parameters", "multifd-channels", (long) channels, "multifd-compression", compression);
    }

    /** The source's multifd-related parameters and enabled capabilities, as it reports them. */
    private static Map<String, Object> sourceParameters(CompareSupport.Child s) throws IOException, TimeoutException {
        Map<String, Object> p = s.execMap("query-migrate-parameters");
        Map<String, Object> r = new LinkedHashMap<>();
        for (String k : List.of("multifd-channels", "multifd-compression", "multifd-zlib-level", "multifd-zstd-level",
                "max-bandwidth")) {
            r.put(k, p.get(k));
        }
        List<String> enabled = new ArrayList<>();
        for (Object c : (List<?>) s.exec("query-migrate-capabilities")) {
            Map<?, ?> cm = (Map<?, ?>) c;
            if (Boolean.TRUE.equals(cm.get("state"))) enabled.add(String.valueOf(cm.get("capability")));
        }
        r.put("capabilities-enabled", enabled);
        return r;
    }

    private static String kernelVerdict(boolean livemig, List<Long> missed, List<Long> copied) {
        boolean anyMissed = missed.stream().anyMatch(x -> x > 0);
        if (livemig) {
            boolean anyCopied = copied.stream().anyMatch(x -> x > 0);
            if (anyCopied || anyMissed) {
                return "copied: the kernel reported MSG_ZEROCOPY sends as copied (SO_EE_CODE_ZEROCOPY_COPIED), the"
                        + " expected loopback fallback";
            }
            return "no copied completions reported: the kernel did zero-copy (or reported nothing)";
        }
        return anyMissed ? "copied: dirty-sync-missed-zero-copy > 0, the kernel copied the MSG_ZEROCOPY sends (expected"
                + " on loopback)" : "dirty-sync-missed-zero-copy = 0: no copy reported at the dirty syncs";
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> submap(Map<String, Object> m, String key) {
        return m.get(key) instanceof Map<?, ?> x ? (Map<String, Object>) x : null;
    }

    private static long num(Map<String, Object> m, String key) {
        return m != null && m.get(key) instanceof Number n ? n.longValue() : -1;
    }

    private static List<Double> map(List<Run> rs, java.util.function.ToDoubleFunction<Run> f) {
        return rs.stream().map(f::applyAsDouble).toList();
    }

    /** Like {@link CompareSupport#summary} with 3 decimals (for GiB/s and core counts). */
    private static Map<String, Object> summary3(List<Double> samples) {
        List<Double> s = new ArrayList<>(samples);
        Collections.sort(s);
        double median = s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
        return Json.obj("median", round3(median), "min", round3(s.getFirst()), "max", round3(s.getLast()),
                "samples", s.stream().map(MultifdComparison::round3).toList());
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> row(Map<String, Object> table, String variant) {
        Map<String, Object> r = (Map<String, Object>) table.get(variant);
        return r != null && r.containsKey("migrate_ms") ? r : null;
    }

    @SuppressWarnings("unchecked")
    private static double medianOf(Map<String, Object> row, String metric) {
        return CompareSupport.median((Map<String, Object>) row.get(metric));
    }

    private static String kernelRelease() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** RLIMIT_MEMLOCK and CAP_IPC_LOCK of this process (children inherit both): they decide zero-copy's locking. */
    private static Map<String, Object> memlockInfo() {
        String limit = "unknown";
        String ipcLock = "unknown";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max locked memory")) limit = line.substring("Max locked memory".length()).trim()
                        .replaceAll("\\s+", " ");
            }
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    long caps = Long.parseUnsignedLong(line.substring(7).trim(), 16);
                    ipcLock = String.valueOf((caps & (1L << 14)) != 0);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // leave unknown
        }
        return Json.obj("rlimit_memlock_soft_hard", limit, "cap_ipc_lock", ipcLock);
    }

    // ---- the text-like RAM content ----

    private static final int VOCABULARY = 256;
    private static final long TEXT_SEED = 0x7E47;

    /**
     * Writes {@code bytes} of deterministic pseudo-text once (kept for later runs): words from a 256-word made-up
     * vocabulary chosen with a skew (u^4, a few words very common as in real text), capitalised after full stops,
     * with commas, full stops and lines of about 72 columns. zlib level 1 compresses it about 3.4x.
     */
    static void writeText(Path file, long bytes) throws IOException {
        if (Files.exists(file) && Files.size(file) == bytes) return;
        System.err.println("multifd-compare: writing " + bytes + " bytes of pseudo-text to " + file);
        SplittableRandom rnd = new SplittableRandom(TEXT_SEED);
        String letters = "eeeeeeeeeeeetttttttttaaaaaaaaooooooooiiiiiiinnnnnnnsssssshhhhhhrrrrrrddddllllcccuuummwwffggyyppbbvk";
        byte[][] words = new byte[VOCABULARY][];
        for (int i = 0; i < VOCABULARY; i++) {
            byte[] w = new byte[2 + rnd.nextInt(4) + rnd.nextInt(5)];
            for (int j = 0; j < w.length; j++) w[j] = (byte) letters.charAt(rnd.nextInt(letters.length()));
            words[i] = w;
        }
        byte[] buf = new byte[1 << 20];
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream o = Files.newOutputStream(tmp)) {
            long written = 0;
            int p = 0;
            int col = 0;
            boolean capital = true;
            while (written < bytes) {
                double u = rnd.nextDouble();
                byte[] w = words[(int) (VOCABULARY * (u * u * u * u))];
                if (p + w.length + 2 > buf.length) {
                    int n = (int) Math.min(p, bytes - written);
                    o.write(buf, 0, n);
                    written += n;
                    p = 0;
                }
                for (int j = 0; j < w.length; j++) buf[p++] = j == 0 && capital ? (byte) (w[j] - 32) : w[j];
                col += w.length;
                capital = false;
                int x = rnd.nextInt(100);
                if (x < 7) {
                    buf[p++] = '.';
                    capital = true;
                    col++;
                } else if (x < 13) {
                    buf[p++] = ',';
                    col++;
                }
                if (col > 70 || (capital && rnd.nextInt(8) == 0)) {
                    buf[p++] = '\n';
                    col = 0;
                } else {
                    buf[p++] = ' ';
                    col++;
                }
            }
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** Input/output size of java.util.zip.Deflater level 1 over the file's first {@code limit} bytes. */
    static double deflateRatio(Path file, long limit) throws IOException {
        Deflater d = new Deflater(1);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] inBuf = new byte[1 << 20];
            byte[] outBuf = new byte[1 << 20];
            long read = 0;
            long outBytes = 0;
            while (read < limit) {
                int n = in.readNBytes(inBuf, 0, (int) Math.min(inBuf.length, limit - read));
                if (n <= 0) break;
                read += n;
                d.setInput(inBuf, 0, n);
                while (!d.needsInput()) outBytes += d.deflate(outBuf);
            }
            d.finish();
            while (!d.finished()) outBytes += d.deflate(outBuf);
            return (double) read / outBytes;
        } finally {
            d.end();
        }
    }

    // ---- output ----

    @SuppressWarnings("unchecked")
    private static void printTable(Map<String, Object> table, Map<String, Object> ratios, double deflateRatio,
                                   String l0, String l1, QemuZeroCopy qzc) {
        System.out.printf("RAM content: pseudo-text, zlib level 1 ratio %.2f%n", deflateRatio);
        System.out.printf("%-17s %24s %9s %10s %8s %20s %20s %6s %6s %16s%n", "variant", "migrate ms [min-max]",
                "RAM GiB/s", "wire MiB/s", "wire:RAM", "src cpu ms/GiB", "dst cpu ms/GiB", "src cr", "dst cr",
                "zc missed/copied");
        for (Map.Entry<String, Object> e : table.entrySet()) {
            Map<String, Object> row = (Map<String, Object>) e.getValue();
            if (!row.containsKey("migrate_ms")) {
                List<String> errs = new ArrayList<>();
                if (row.get("errors") instanceof List<?> l) l.forEach(x -> errs.add(String.valueOf(x)));
                if (row.get("qemu_zero_copy_send") instanceof Map<?, ?> q && q.get("attempts") instanceof List<?> l) {
                    for (Object a : l) {
                        Map<?, ?> am = (Map<?, ?>) a;
                        if (am.get("error") != null) errs.add("source args '" + am.get("source_extra_args") + "': " + am.get("error"));
                    }
                }
                System.out.printf("%-17s FAILED%s%n", e.getKey(), errs.isEmpty() ? " (no run)" : ":");
                for (String err : errs) err.lines().forEach(line -> System.out.println("    " + line));
                continue;
            }
            String zc = "-";
            if (row.get("zero_copy") instanceof Map<?, ?> z) {
                List<Long> missed = (List<Long>) z.get("dirty_sync_missed_zero_copy");
                List<Long> copied = (List<Long>) z.get("zero_copy_copied_completions");
                zc = missed.getFirst() + "/" + (copied == null ? "n/a" : String.valueOf(copied.getFirst()));
            }
            String wireRatio = row.get("ram_to_wire_ratio") instanceof Map<?, ?> w
                    ? String.format("1:%.2f", ((Number) w.get("median")).doubleValue()) : "n/a";
            System.out.printf("%-17s %24s %9s %10s %8s %20s %20s %6s %6s %16s%n", e.getKey(), cell(row.get("migrate_ms")),
                    med(row.get("ram_gib_per_s")), med(row.get("wire_mib_per_s")), wireRatio,
                    cell(row.get("src_cpu_ms_per_gib")), cell(row.get("dst_cpu_ms_per_gib")),
                    med(row.get("src_cpu_cores")), med(row.get("dst_cpu_cores")), zc);
        }
        System.out.println("(wire:RAM = RAM bytes per wire byte; cr = CPU cores busy during migrate;"
                + " zc = ram.dirty-sync-missed-zero-copy / x-livemig-multifd.zero-copy-copied-completions, first run)");
        if (qzc.extra != null || qzc.refused) System.out.println("QEMU zero-copy-send needed: " + qzc.report().get("needed"));
        System.out.println("ratios of medians livemig/qemu (lower is better for livemig):");
        ratios.forEach((k, v) -> System.out.printf("  %-50s %s%n", k, v));
        System.out.println("loadavg before: " + l0 + "  after: " + l1);
    }

    private static String med(Object summary) {
        return summary instanceof Map<?, ?> s ? String.valueOf(s.get("median")) : "n/a";
    }

    private static String cell(Object summary) {
        if (!(summary instanceof Map<?, ?> s)) return "-";
        return s.get("median") + " [" + s.get("min") + "-" + s.get("max") + "]";
    }
}
