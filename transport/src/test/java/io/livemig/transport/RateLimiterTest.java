package io.livemig.transport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertTrue;

class RateLimiterTest {

    @Test
    @Timeout(10)
    void averageRateStaysWithinBounds() throws Exception {
        long rate = 8L << 20; // 8 MiB/s
        RateLimiter limiter = new RateLimiter(rate);
        long total = 4L << 20; // 4 MiB -> about 0.5 s minus one burst
        long start = System.nanoTime();
        for (long sent = 0; sent < total; sent += 4096 + 8) {
            limiter.acquire(4096 + 8);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double ideal = (double) total / rate; // 0.5 s
        // Lower bound: one burst (0.1 s) may be spent up front; upper bound: scheduling slack on 2 cores.
        assertTrue(seconds >= ideal - RateLimiter.BURST_SECONDS - 0.02, "too fast: " + seconds + " s");
        assertTrue(seconds <= ideal * 1.5 + 0.1, "too slow: " + seconds + " s");
    }

    @Test
    @Timeout(10)
    void largeWritesAreLimitedToo() throws Exception {
        long rate = 10L << 20;
        RateLimiter limiter = new RateLimiter(rate);
        long start = System.nanoTime();
        for (int i = 0; i < 4; i++) limiter.acquire(1L << 20); // 4 MiB in 1 MiB steps -> ~0.4 s
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds >= 0.25 && seconds <= 0.9, "took " + seconds + " s");
    }

    @Test
    @Timeout(5)
    void zeroMeansUnlimited() throws Exception {
        RateLimiter limiter = new RateLimiter(0);
        long start = System.nanoTime();
        for (int i = 0; i < 100_000; i++) limiter.acquire(1 << 20);
        assertTrue(System.nanoTime() - start < 1_000_000_000L);
    }
}
