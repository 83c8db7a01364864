package io.livemig.transport;

import io.livemig.sys.LibC;
import io.livemig.sys.abi.MmanH;

import java.io.File;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * {@code exec:CMD}: {@code sh -c CMD} as a child process. Outgoing writes the child's stdin (its stdout is
 * discarded), incoming reads its stdout (its stdin is /dev/null); stderr is inherited so the child's
 * complaints reach our log.
 *
 * <p>The pipe is our own ({@code pipe2(O_CLOEXEC)}); the child gets its end through
 * {@code /proc/self/fd/N}, which Linux reopens as the same pipe. So, as for sockets, reads and gathering
 * writes are LibC calls straight on guest RAM, with none of the heap copies of {@code Process} streams.
 * {@link #close()} reaps the child and reports a non-zero exit as an error; {@link #shutdown()} kills it
 * (and its descendants, which may hold the pipe too).
 */
final class ExecMigrationChannel extends FdMigrationChannel {
    /** How long close() waits for the child to exit after its pipe is closed. */
    static final long REAP_TIMEOUT_MS = 30_000;

    private final Process process;
    private final String command;
    private final boolean outgoing;

    private ExecMigrationChannel(String description, int fd, Process process, String command, boolean outgoing) {
        super(description, fd);
        this.process = process;
        this.command = command;
        this.outgoing = outgoing;
    }

    static ExecMigrationChannel start(String command, boolean outgoing) throws IOException {
        int[] pipe = LibC.pipe2(MmanH.O_CLOEXEC);
        int childEnd = outgoing ? pipe[0] : pipe[1];
        int ourEnd = outgoing ? pipe[1] : pipe[0];
        File childFile = new File("/proc/self/fd/" + childEnd);
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", command)
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        if (outgoing) {
            pb.redirectInput(childFile).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        } else {
            pb.redirectOutput(childFile).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            LibC.close(ourEnd);
            throw new IOException("exec:" + command + ": could not start /bin/sh: " + e.getMessage(), e);
        } finally {
            LibC.close(childEnd);
        }
        return new ExecMigrationChannel("exec:" + command + " (pid " + p.pid() + ")", ourEnd, p, command, outgoing);
    }

    /** The child's pid (for tests and messages). */
    long pid() {
        return process.pid();
    }

    @Override
    public int read(MemorySegment dst) throws IOException {
        int n = readFd(dst);
        if (n < 0) checkExit(5_000, null);
        return n;
    }

    @Override
    public void write(MemorySegment... srcs) throws IOException {
        try {
            writeFd(srcs);
        } catch (IOException e) {
            checkExit(1_000, e);
            throw e;
        }
    }

    /** Throws if the child has exited (within {@code waitMs}) with a non-zero status. */
    private void checkExit(long waitMs, IOException cause) throws IOException {
        if (isShutdown()) return;
        try {
            if (process.waitFor(waitMs, TimeUnit.MILLISECONDS) && process.exitValue() != 0) {
                IOException e = new IOException("exec:" + command + ": child exited with status "
                        + process.exitValue());
                if (cause != null) e.addSuppressed(cause);
                throw e;
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }

    /** Outgoing: closes the pipe so the child sees end of stream. */
    @Override
    public void shutdownOutput() throws IOException {
        if (outgoing) closeFdOnce();
    }

    @Override
    void doShutdown() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    @Override
    void doClose() throws IOException {
        closeFdOnce();
        try {
            if (!process.waitFor(REAP_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                doShutdown();
                process.waitFor(5, TimeUnit.SECONDS);
                if (!isShutdown()) {
                    throw new IOException("exec:" + command + ": child did not exit within " + REAP_TIMEOUT_MS
                            + " ms after its pipe was closed; killed it");
                }
                return;
            }
        } catch (InterruptedException ie) {
            doShutdown();
            Thread.currentThread().interrupt();
            throw new IOException("exec:" + command + ": interrupted while waiting for the child to exit");
        }
        if (process.exitValue() != 0 && !isShutdown()) {
            throw new IOException("exec:" + command + ": child exited with status " + process.exitValue());
        }
    }
}
