package io.livemig.engine.process;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The warm-up is a real migration over loopback tcp (plain, then multifd with 2 channels) and checks that
 * the destination RAM equals the source; a codec, channel or multifd regression makes it throw.
 */
class JitWarmupTest {
    @Test
    void warmupMigratesItsRamIntactOverLoopback() throws Exception {
        long ms = JitWarmup.run(new QemuStreamCodec());
        assertTrue(ms >= 0, "took " + ms + " ms");
    }
}
