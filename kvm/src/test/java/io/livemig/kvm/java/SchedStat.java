package io.livemig.kvm.java;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Runqueue wait of one thread from {@code /proc/self/task/TID/schedstat} (second field: nanoseconds the thread
 * was runnable but not running). Lets a latency test tell the code's own latency from time the host scheduler
 * kept a thread off the CPU (this build host is a 2-core PVM guest shared with other builds).
 */
final class SchedStat {
    private final Path file;

    private SchedStat(Path file) {
        this.file = file;
    }

    /** The calling thread. */
    static Optional<SchedStat> self() {
        Path p = Path.of("/proc/thread-self/schedstat");
        return Files.isReadable(p) ? Optional.of(new SchedStat(p)) : Optional.empty();
    }

    /** The thread of this process whose comm is {@code threadName} (truncated to 15 bytes as the kernel does). */
    static Optional<SchedStat> ofThread(String threadName) {
        String comm = threadName.length() > 15 ? threadName.substring(0, 15) : threadName;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.filter(t -> {
                try {
                    return Files.readString(t.resolve("comm")).strip().equals(comm);
                } catch (IOException e) {
                    return false;
                }
            }).findFirst().map(t -> new SchedStat(t.resolve("schedstat")));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Nanoseconds this thread has waited on a runqueue so far. */
    long runqueueWaitNs() {
        try {
            return Long.parseLong(Files.readString(file).strip().split(" ")[1]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
