package io.livemig.engine.stream;

import io.livemig.engine.ram.RamRegion;
import io.livemig.engine.ram.RamSaveOptions;
import io.livemig.memory.DirtyBitmap;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Robustness: mutated (bit flips, byte replacements, length-field edits), truncated and spliced valid
 * streams. Every load must end in success or StreamFormatException, within a deadline, without writing
 * outside guest RAM (the RAM block is a slice of a larger buffer whose guard bytes must stay intact).
 * The analyzer gets the same inputs and must never throw.
 */
class StreamFuzzTest {
    static final long SEED = Long.getLong("livemig.fuzz.seed", 0x1DE5_7A7EL);
    static final int MIN_CASES = 10_000;
    static final int MAX_CASES = 30_000;
    static final long MAX_MILLIS = 60_000;
    static final long CASE_DEADLINE_MILLIS = 5_000;
    static final int PAGES = 64;
    static final long GUARD = 64 * 1024;

    static List<byte[]> seeds() {
        List<byte[]> seeds = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(PAGES * 4096L, 4096);
            Random rnd = new Random(SEED);
            for (int p = 0; p < PAGES; p++) {
                switch (p % 4) {
                    case 0 -> { }
                    case 1 -> ram.set(ValueLayout.JAVA_BYTE, p * 4096L + p * 13, (byte) 0x42);
                    case 2 -> {
                        byte[] b = new byte[4096];
                        rnd.nextBytes(b);
                        MemorySegment.copy(b, 0, ram, ValueLayout.JAVA_BYTE, p * 4096L, 4096);
                    }
                    default -> ram.asSlice(p * 4096L, 4096).fill((byte) 0x33);
                }
            }
            List<RamRegion> blocks = List.of(new RamRegion("ram", ram));
            for (RamSaveOptions opts : List.of(RamSaveOptions.defaults().withXbzrle(1 << 20),
                    RamSaveOptions.defaults().withCompress(1))) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                try (OutgoingStream s = new OutgoingStream(Channels.newChannel(out), blocks,
                        SaveOptions.defaults().withRunState("paused").withRam(opts))) {
                    s.begin();
                    DirtyBitmap d = new DirtyBitmap(PAGES);
                    d.setAll();
                    s.ramPass(List.of(d));
                    for (int p = 1; p < PAGES; p += 5) {
                        ram.set(ValueLayout.JAVA_BYTE, p * 4096L + 0x100 + p, (byte) p);
                        d.set(p);
                    }
                    s.ramPass(List.of(d));
                    s.complete(null, List.of(MigrationStreamsTest.mydev(3)));
                }
                seeds.add(out.toByteArray());
            }
        }
        return seeds;
    }

    /** A position biased towards the structure: the first 512 bytes (header, configuration, setup, first
     *  records) and the last 2048 (RAM END, device sections, EOF, vmdesc) get two thirds of the picks. */
    static int pos(Random rnd, int length) {
        return switch (rnd.nextInt(3)) {
            case 0 -> rnd.nextInt(Math.min(512, length));
            case 1 -> length - 1 - rnd.nextInt(Math.min(2048, length));
            default -> rnd.nextInt(length);
        };
    }

    static byte[] mutate(Random rnd, byte[] a, byte[] b) {
        byte[] x = a.clone();
        int kind = rnd.nextInt(7);
        switch (kind) {
            case 0 -> { // bit flips
                int n = 1 + rnd.nextInt(4);
                for (int i = 0; i < n; i++) {
                    int at = pos(rnd, x.length);
                    x[at] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> { // byte replacements
                int n = 1 + rnd.nextInt(4);
                for (int i = 0; i < n; i++) x[pos(rnd, x.length)] = (byte) rnd.nextInt(256);
            }
            case 2 -> { // length/field edit: an interesting big-endian value of width 1, 2, 4 or 8
                int width = 1 << rnd.nextInt(4);
                int at = Math.max(0, Math.min(pos(rnd, x.length), x.length - width));
                long[] interesting = {0, 1, 0x7F, 0x80, 0xFF, 0x1000, 0x1001, 0xFFF, 0x100E, 0x7FFFFFFFL, 0xFFFFFFFFL,
                    -1L, Long.MIN_VALUE, 0x4000000L, 0x10, 0x22, 0x28, 0x48, 0x120};
                long v = rnd.nextBoolean() ? interesting[rnd.nextInt(interesting.length)] : rnd.nextLong();
                for (int i = 0; i < width && at + i < x.length; i++) x[at + i] = (byte) (v >>> (8 * (width - 1 - i)));
            }
            case 3 -> { // truncate
                return java.util.Arrays.copyOf(x, pos(rnd, x.length));
            }
            case 4 -> { // splice: prefix of a, suffix of b
                int cut = rnd.nextInt(a.length);
                int from = rnd.nextInt(b.length);
                byte[] y = new byte[cut + (b.length - from)];
                System.arraycopy(a, 0, y, 0, cut);
                System.arraycopy(b, from, y, cut, b.length - from);
                return y;
            }
            case 5 -> { // delete a range
                int at = rnd.nextInt(x.length);
                int len = 1 + rnd.nextInt(Math.min(64, x.length - at));
                byte[] y = new byte[x.length - len];
                System.arraycopy(x, 0, y, 0, at);
                System.arraycopy(x, at + len, y, at, x.length - at - len);
                return y;
            }
            default -> { // duplicate a range
                int at = rnd.nextInt(x.length);
                int len = 1 + rnd.nextInt(Math.min(64, x.length - at));
                byte[] y = new byte[x.length + len];
                System.arraycopy(x, 0, y, 0, at + len);
                System.arraycopy(x, at, y, at + len, x.length - at);
                return y;
            }
        }
        return x;
    }

    @Test
    void mutatedStreamsEndInSuccessOrStreamFormatException() throws Exception {
        List<byte[]> seeds = seeds();
        System.out.println("fuzz seed=0x" + Long.toHexString(SEED) + " (rerun with -Dlivemig.fuzz.seed=...), seed streams "
                + seeds.get(0).length + " and " + seeds.get(1).length + " bytes");
        Random rnd = new Random(SEED);
        Map<String, Integer> outcomes = new TreeMap<>();
        ExecutorService exec = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true);
            return t;
        });
        long start = System.currentTimeMillis();
        int cases = 0;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment all = arena.allocate(PAGES * 4096L + 2 * GUARD, 4096);
            all.fill((byte) 0xA5);
            MemorySegment ram = all.asSlice(GUARD, PAGES * 4096L);
            List<RamRegion> blocks = List.of(new RamRegion("ram", ram));
            DeviceRegistry registry = DeviceRegistry.empty().register("mydev", 0, MigrationStreamsTest.MYDEV, s -> { });
            // The unmutated seeds load.
            for (byte[] s : seeds) {
                MigrationStreams.loadAll(new ByteArrayChannel(s), blocks, registry, LoadOptions.defaults().withCompress(true));
            }
            while (cases < MAX_CASES && (cases < MIN_CASES || System.currentTimeMillis() - start < MAX_MILLIS)
                    && System.currentTimeMillis() - start < MAX_MILLIS * 2) {
                if (cases >= MIN_CASES && System.currentTimeMillis() - start >= MAX_MILLIS) break;
                int si = rnd.nextInt(seeds.size());
                byte[] input = mutate(rnd, seeds.get(si), seeds.get(rnd.nextInt(seeds.size())));
                if (rnd.nextInt(4) == 0) input = mutate(rnd, input, seeds.get(si)); // some double mutations
                final byte[] in = input;
                final boolean compress = rnd.nextInt(8) != 0;
                Future<String> f = exec.submit(() -> {
                    String outcome;
                    try {
                        MigrationStreams.loadAll(new ByteArrayChannel(in), blocks, registry, LoadOptions.defaults().withCompress(compress));
                        outcome = "loaded";
                    } catch (StreamFormatException e) {
                        outcome = "StreamFormatException " + e.field().replaceAll("\\[\\d+\\]", "[]");
                    }
                    StreamAnalyzer_check(in);
                    return outcome;
                });
                String outcome;
                try {
                    outcome = f.get(CASE_DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    Path dump = dump(in);
                    fail("case " + cases + " did not finish within " + CASE_DEADLINE_MILLIS + " ms; input saved to " + dump);
                    return;
                } catch (java.util.concurrent.ExecutionException e) {
                    Path dump = dump(in);
                    throw new AssertionError("case " + cases + " threw " + e.getCause() + "; input saved to " + dump, e.getCause());
                }
                for (long i = 0; i < GUARD; i++) {
                    if (all.get(ValueLayout.JAVA_BYTE, i) != (byte) 0xA5
                            || all.get(ValueLayout.JAVA_BYTE, all.byteSize() - 1 - i) != (byte) 0xA5) {
                        fail("case " + cases + " wrote outside guest RAM (guard byte " + i + "); input saved to " + dump(in));
                    }
                }
                outcomes.merge(outcome, 1, Integer::sum);
                cases++;
            }
        } finally {
            exec.shutdownNow();
        }
        long ms = System.currentTimeMillis() - start;
        System.out.println("fuzz: " + cases + " cases in " + ms + " ms, outcomes:");
        outcomes.forEach((k, v) -> System.out.println("  " + v + "  " + k));
        assertTrue(cases >= MIN_CASES, "only " + cases + " cases ran in " + ms + " ms");
        assertTrue(outcomes.getOrDefault("loaded", 0) > 0, "some mutations (e.g. in page data) must still load");
    }

    private static void StreamAnalyzer_check(byte[] in) {
        io.livemig.engine.analyze.StreamAnalyzer.analyze(in); // must not throw
    }

    private static Path dump(byte[] in) {
        try {
            Path p = Files.createTempFile("livemig-fuzz-", ".mig");
            Files.write(p, in);
            return p;
        } catch (java.io.IOException e) {
            return null;
        }
    }

}
