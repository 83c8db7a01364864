package io.livemig.kvm;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Where the guest's COM1 output (port 0x3F8) goes: a file, stdout, or nowhere; always also an in-memory
 * tail (the last {@link #TAIL_BYTES} bytes) and per-byte-value counters, which tests and the demo read.
 *
 * <p>Threads: vCPU threads call {@link #write}; any thread reads. All methods synchronise on this sink;
 * {@link #awaitCount} waits on it with a bound. Serial output is rare (an 'A', then a 'B' per 64 passes),
 * so the lock costs nothing measurable.
 */
public final class SerialSink implements AutoCloseable {
    public static final int TAIL_BYTES = 4096;

    private final String description;
    private final OutputStream out;
    private final boolean ownsOut;
    private final byte[] tail = new byte[TAIL_BYTES];
    private final long[] counts = new long[256];
    private long totalBytes;
    private IOException outputFailure;

    private SerialSink(String description, OutputStream out, boolean ownsOut) {
        this.description = description;
        this.out = out;
        this.ownsOut = ownsOut;
    }

    /** Output is kept in memory only (tail and counters). */
    public static SerialSink none() {
        return new SerialSink("none", null, false);
    }

    /** Output goes to this process's stdout (flushed per byte) as well as the in-memory tail. */
    public static SerialSink stdout() {
        return new SerialSink("stdio", System.out, false);
    }

    /** Output is appended to {@code file} (created or truncated now) as well as the in-memory tail. */
    public static SerialSink toFile(Path file) {
        try {
            return new SerialSink("file:" + file, new FileOutputStream(file.toFile()), true);
        } catch (IOException e) {
            throw new UncheckedIOException("serial sink: cannot open " + file + ": " + e.getMessage(), e);
        }
    }

    /** As the CLI spells it: {@code file:PATH}, {@code stdio} or {@code none}. */
    public static SerialSink parse(String spec) {
        if (spec.equals("none")) return none();
        if (spec.equals("stdio")) return stdout();
        if (spec.startsWith("file:") && spec.length() > 5) return toFile(Path.of(spec.substring(5)));
        throw new IllegalArgumentException("serial='" + spec + "', expected file:PATH, stdio or none");
    }

    /** One byte written by the guest to the transmit register. */
    public synchronized void write(int b) {
        byte v = (byte) b;
        tail[(int) (totalBytes % TAIL_BYTES)] = v;
        totalBytes++;
        counts[v & 0xFF]++;
        if (out != null && outputFailure == null) {
            try {
                out.write(v);
                out.flush();
            } catch (IOException e) {
                outputFailure = e; // keep the guest running; the tail still has the bytes
            }
        }
        notifyAll();
    }

    /** How many times the guest wrote {@code b}. */
    public synchronized long count(int b) {
        return counts[b & 0xFF];
    }

    public synchronized long totalBytes() {
        return totalBytes;
    }

    /** The last bytes written (at most {@link #TAIL_BYTES}), oldest first, as ISO-8859-1 text. */
    public synchronized String tail() {
        int n = (int) Math.min(totalBytes, TAIL_BYTES);
        byte[] copy = new byte[n];
        long first = totalBytes - n;
        for (int i = 0; i < n; i++) copy[i] = tail[(int) ((first + i) % TAIL_BYTES)];
        return new String(copy, StandardCharsets.ISO_8859_1);
    }

    /**
     * Waits until the guest has written {@code b} at least {@code atLeast} times, at most {@code timeout}.
     * Returns whether it did.
     */
    public synchronized boolean awaitCount(int b, long atLeast, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (counts[b & 0xFF] < atLeast) {
            long leftMs = (deadline - System.nanoTime()) / 1_000_000;
            if (leftMs <= 0) return false;
            wait(leftMs);
        }
        return true;
    }

    /** The first error writing to the file or stdout, if any (output stops there; the tail goes on). */
    public synchronized IOException outputFailure() {
        return outputFailure;
    }

    @Override
    public synchronized void close() {
        if (ownsOut && out != null) {
            try {
                out.close();
            } catch (IOException e) {
                throw new UncheckedIOException("serial sink " + description + ": close failed", e);
            }
        } else if (out instanceof PrintStream ps) {
            ps.flush();
        }
    }

    @Override
    public synchronized String toString() {
        return "SerialSink[" + description + ", " + totalBytes + " bytes]";
    }
}
