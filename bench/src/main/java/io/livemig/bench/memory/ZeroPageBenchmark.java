package io.livemig.bench.memory;

import io.livemig.memory.GuestMemory;
import io.livemig.memory.Prefault;
import io.livemig.memory.RamBlock;
import io.livemig.memory.ZeroPages;
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

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Zero-page detection over a 64 MiB guest RAM block (anonymous mmap, prefaulted), one 4 KiB page per
 * call as the RAM save path does it. One op = one pass over the region; the {@code bytes} aux counter
 * is the region's size per op, so JMH reports it as bytes/s: divide by 1e9 for GB/s.
 *
 * <p>{@code zero}: every page is zero, so every byte is read (the bandwidth case). {@code random}:
 * every page differs in its first bytes, so the rate shows the per-call cost of rejecting a page.
 * {@code orLoop} is {@link ZeroPages#isZero} (unrolled long OR, one test per 64 bytes);
 * {@code mismatch} is {@link ZeroPages#isZeroMismatch} (MemorySegment.mismatch against a zero
 * comparand), the alternative it was measured against.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ZeroPageBenchmark {
    private static final int PAGE = RamBlock.TARGET_PAGE_SIZE;

    @Param({"zero", "random"})
    public String content;

    @Param({"67108864"})
    public long regionBytes;

    private GuestMemory memory;
    private MemorySegment region;

    /** Bytes examined, reported per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        memory = GuestMemory.builder().anonymous("ram", regionBytes).build();
        region = memory.block("ram").segment();
        Prefault.populateWrite(region, 1);
        if (content.equals("random")) {
            SplittableRandom rnd = new SplittableRandom(1);
            for (long off = 0; off < regionBytes; off += Long.BYTES) {
                long v = rnd.nextLong();
                region.set(ValueLayout.JAVA_LONG, off, v == 0 ? 1 : v);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        memory.close();
    }

    @Benchmark
    public int mismatch(Bytes counter) {
        int zero = 0;
        for (long off = 0; off < regionBytes; off += PAGE) {
            if (ZeroPages.isZeroMismatch(region, off, PAGE)) zero++;
        }
        counter.bytes += regionBytes;
        return zero;
    }

    @Benchmark
    public int orLoop(Bytes counter) {
        int zero = 0;
        for (long off = 0; off < regionBytes; off += PAGE) {
            if (ZeroPages.isZero(region, off, PAGE)) zero++;
        }
        counter.bytes += regionBytes;
        return zero;
    }
}
