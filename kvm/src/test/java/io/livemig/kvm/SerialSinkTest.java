package io.livemig.kvm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

class SerialSinkTest {
    @Test
    void countsAndTail() throws Exception {
        try (SerialSink s = SerialSink.none()) {
            s.write('A');
            for (int i = 0; i < 5000; i++) s.write('B');
            assertEquals(1, s.count('A'));
            assertEquals(5000, s.count('B'));
            assertEquals(5001, s.totalBytes());
            assertEquals(SerialSink.TAIL_BYTES, s.tail().length());
            assertTrue(s.awaitCount('B', 5000, Duration.ofMillis(1)));
            long t0 = System.nanoTime();
            assertFalse(s.awaitCount('C', 1, Duration.ofMillis(50)));
            assertTrue(System.nanoTime() - t0 >= 45_000_000L);
        }
    }

    @Test
    void awaitWakesOnWrite() throws Exception {
        try (SerialSink s = SerialSink.none()) {
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ignored) {
                }
                s.write('B');
            });
            assertTrue(s.awaitCount('B', 1, Duration.ofSeconds(5)));
            t.join(5000);
        }
    }

    @Test
    void fileSink(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("serial.txt");
        try (SerialSink s = SerialSink.parse("file:" + f)) {
            s.write('A');
            s.write('B');
            assertEquals("AB", Files.readString(f));
            assertEquals("AB", s.tail());
        }
        assertThrows(IllegalArgumentException.class, () -> SerialSink.parse("tcp:1"));
    }
}
