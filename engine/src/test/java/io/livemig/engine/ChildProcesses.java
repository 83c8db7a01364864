package io.livemig.engine;

import java.util.concurrent.TimeUnit;

/** Ending child processes that tests started (livemig and QEMU alike). */
public final class ChildProcesses {
    private ChildProcesses() {
    }

    /**
     * Waits up to 5 s for {@code p} to exit (after a quit or SIGTERM already asked it to), then kills it and
     * waits 5 s more. An interrupt kills it at once and keeps the thread's interrupt status.
     */
    public static void awaitOrKill(Process p) {
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
