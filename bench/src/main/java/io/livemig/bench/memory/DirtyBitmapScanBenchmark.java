package io.livemig.bench.memory;

import io.livemig.memory.DirtyBitmap;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Scanning a dirty bitmap of 2^24 pages (64 GiB of guest RAM, a 2 MiB bitmap) with 0 %, 1 % or 100 %
 * of the pages set (1 %: random pages, fixed seed). One op = one full scan. Aux counters, reported per
 * second: {@code bitmapBytes} (bitmap bytes scanned; /1e9 for GB/s) and {@code pages} (dirty pages
 * reported).
 *
 * <ul>
 *   <li>{@code nextSetBit}: read-only walk, as a pass that only counts or looks ahead would do it.</li>
 *   <li>{@code harvestWord}: get-and-clear word by word, as a sync pass does it. The bitmap is refilled
 *       before every op by {@code Level.Invocation} setup (an op takes 0.1-10 ms, long enough for
 *       per-invocation setup not to distort the timing).</li>
 *   <li>{@code orKernelBitmap}: OR a KVM-style bitmap of the same size in at an unaligned page offset.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class DirtyBitmapScanBenchmark {
    private static final ValueLayout.OfLong LE_U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Param({"0", "1", "100"})
    public int percentSet;

    @Param({"16777216"})
    public long pages;

    private DirtyBitmap bitmap;
    private DirtyBitmap target;
    private MemorySegment kernelBitmap;
    private Arena arena;

    /** Per-second counters: bitmap bytes scanned and dirty pages reported. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Scanned {
        public long bitmapBytes;
        public long pages;

        @Setup(Level.Iteration)
        public void reset() {
            bitmapBytes = 0;
            pages = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        long words = DirtyBitmap.wordsFor(pages);
        kernelBitmap = arena.allocate(words * Long.BYTES, Long.BYTES);
        SplittableRandom rnd = new SplittableRandom(1);
        if (percentSet == 100) {
            kernelBitmap.fill((byte) 0xff);
        } else if (percentSet > 0) {
            long n = pages * percentSet / 100;
            for (long i = 0; i < n; i++) {
                long p = rnd.nextLong(pages);
                long off = (p >>> 6) * Long.BYTES;
                kernelBitmap.set(LE_U64, off, kernelBitmap.get(LE_U64, off) | 1L << p);
            }
        }
        bitmap = new DirtyBitmap(pages);
        target = new DirtyBitmap(pages + 64);
    }

    /** Restores the pattern the previous harvest cleared (not timed). */
    @Setup(Level.Invocation)
    public void refill() {
        bitmap.clearAll();
        bitmap.orKernelBitmap(kernelBitmap, 0, pages);
    }

    @Benchmark
    public long nextSetBit(Scanned s) {
        long found = 0;
        for (long p = bitmap.nextSetBit(0); p >= 0; p = p + 1 < pages ? bitmap.nextSetBit(p + 1) : -1) found++;
        s.bitmapBytes += bitmap.wordCount() * Long.BYTES;
        s.pages += found;
        return found;
    }

    @Benchmark
    public long harvestWord(Scanned s) {
        long found = 0;
        long words = bitmap.wordCount();
        for (long w = 0; w < words; w++) found += Long.bitCount(bitmap.harvestWord(w));
        s.bitmapBytes += words * Long.BYTES;
        s.pages += found;
        return found;
    }

    @Benchmark
    public long orKernelBitmap(Scanned s) {
        target.orKernelBitmap(kernelBitmap, 37, pages);
        s.bitmapBytes += kernelBitmap.byteSize();
        return target.wordCount();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }
}
