package io.livemig.engine.qmp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A QMP client for tests and {@code livemig demo}; speaks to livemig and to QEMU alike. Every wait takes
 * a timeout. One thread reads the socket and sorts messages into replies and events; commands are
 * sent one at a time by the caller.
 */
public final class QmpClient implements AutoCloseable {
    private final SocketChannel socket;
    private final Map<String, Object> greeting;
    private final BlockingQueue<Map<String, Object>> replies = new LinkedBlockingQueue<>();
    /** Events not yet consumed by {@link #awaitEvent}, in arrival order; guarded by itself. */
    private final List<Map<String, Object>> events = new ArrayList<>();
    private final Thread reader;
    private final AtomicLong nextId = new AtomicLong();
    private volatile IOException readFailure;

    /** A QMP error reply to {@link #execute}. */
    public static final class QmpException extends IOException {
        private final String errorClass;
        private final String desc;

        QmpException(String command, String errorClass, String desc) {
            super(command + ": " + errorClass + ": " + desc);
            this.errorClass = errorClass;
            this.desc = desc;
        }

        public String errorClass() {
            return errorClass;
        }

        public String desc() {
            return desc;
        }
    }

    private QmpClient(SocketChannel socket, Duration timeout) throws IOException, TimeoutException {
        this.socket = socket;
        JsonStreamSplitter in = new JsonStreamSplitter(new BufferedReader(
                new InputStreamReader(Channels.newInputStream(socket), StandardCharsets.UTF_8)));
        this.reader = new Thread(() -> readLoop(in), "qmp-client-reader");
        this.reader.setDaemon(true);
        this.reader.start();
        Map<String, Object> g = poll(timeout, "QMP greeting");
        if (!g.containsKey("QMP")) throw new IOException("expected the QMP greeting, got " + Json.write(g));
        this.greeting = g;
    }

    /** The least time {@link #connect} waits for the greeting once the socket accepted. */
    static final Duration GREETING_MIN_WAIT = Duration.ofSeconds(10);

    /**
     * Connects (retrying until the socket exists and accepts, within {@code timeout}) and reads the
     * greeting; does not negotiate (see {@link #handshake}).
     */
    public static QmpClient connect(Path socketPath, Duration timeout) throws IOException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            SocketChannel sc = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                sc.connect(UnixDomainSocketAddress.of(socketPath));
                // The greeting gets at least GREETING_MIN_WAIT of its own: a server that just bound its
                // socket at the end of a slow start-up is still to be waited for, not failed.
                return new QmpClient(sc, Duration.ofNanos(Math.max(GREETING_MIN_WAIT.toNanos(), deadline - System.nanoTime())));
            } catch (IOException e) {
                sc.close();
                last = e;
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while connecting to " + socketPath, ie);
                }
            }
        }
        TimeoutException t = new TimeoutException("no QMP server at " + socketPath + " within " + timeout
                + (last != null ? " (last error: " + last.getMessage() + ")" : ""));
        if (last != null) t.initCause(last);
        throw t;
    }

    /** Connects and negotiates capabilities. */
    public static QmpClient open(Path socketPath, Duration timeout) throws IOException, TimeoutException {
        QmpClient c = connect(socketPath, timeout);
        try {
            c.handshake(timeout);
            return c;
        } catch (IOException | TimeoutException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    public Map<String, Object> greeting() {
        return greeting;
    }

    public void handshake(Duration timeout) throws IOException, TimeoutException {
        execute("qmp_capabilities", null, timeout);
    }

    /**
     * Runs {@code command} and returns its {@code "return"} value.
     *
     * @throws QmpException for an error reply
     */
    public Object execute(String command, Map<String, Object> arguments, Duration timeout)
            throws IOException, TimeoutException {
        String id = "c" + nextId.incrementAndGet();
        Map<String, Object> req = Json.obj("execute", command);
        if (arguments != null) req.put("arguments", arguments);
        req.put("id", id);
        Map<String, Object> reply = request(Json.write(req), timeout);
        if (!id.equals(reply.get("id"))) {
            throw new IOException(command + ": reply carries id " + reply.get("id") + ", expected " + id);
        }
        if (reply.get("error") instanceof Map<?, ?> err) {
            throw new QmpException(command, String.valueOf(err.get("class")), String.valueOf(err.get("desc")));
        }
        return reply.get("return");
    }

    /** Convenience: {@code execute} with arguments given as alternating keys and values. */
    public Object execute(String command, Duration timeout, Object... kv) throws IOException, TimeoutException {
        return execute(command, kv.length == 0 ? null : Json.obj(kv), timeout);
    }

    /** Sends raw text (need not be valid JSON) and returns the next reply object as is. */
    public Map<String, Object> request(String text, Duration timeout) throws IOException, TimeoutException {
        ByteBuffer b = StandardCharsets.UTF_8.encode(text + "\n");
        synchronized (socket) {
            while (b.hasRemaining()) socket.write(b);
        }
        return poll(timeout, "the reply to " + text);
    }

    /** Waits for (and consumes) the first event named {@code name} not yet consumed. */
    public Map<String, Object> awaitEvent(String name, Duration timeout) throws IOException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (events) {
            while (true) {
                for (Iterator<Map<String, Object>> it = events.iterator(); it.hasNext(); ) {
                    Map<String, Object> e = it.next();
                    if (name.equals(e.get("event"))) {
                        it.remove();
                        return e;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("no " + name + " event within " + timeout + "; seen: " + events);
                }
                if (readFailure != null && !reader.isAlive()) throw readFailure;
                try {
                    TimeUnit.NANOSECONDS.timedWait(events, Math.min(left, 50_000_000L));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted waiting for " + name, e);
                }
            }
        }
    }

    /** Events received and not consumed yet (a copy). */
    public List<Map<String, Object>> pendingEvents() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    private Map<String, Object> poll(Duration timeout, String what) throws IOException, TimeoutException {
        try {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                Map<String, Object> m = replies.poll(Math.min(50, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)),
                        TimeUnit.MILLISECONDS);
                if (m != null) return m;
                if (!reader.isAlive()) {
                    throw new IOException("QMP connection closed while waiting for " + what
                            + (readFailure != null ? ": " + readFailure.getMessage() : ""));
                }
                if (System.nanoTime() >= deadline) throw new TimeoutException("no " + what + " within " + timeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for " + what, e);
        }
    }

    private void readLoop(JsonStreamSplitter in) {
        try {
            String text;
            while ((text = in.next()) != null) {
                Map<String, Object> m;
                try {
                    m = Json.parseObject(text);
                } catch (Json.ParseException e) {
                    throw new IOException("server sent invalid JSON: " + e.getMessage() + ": " + text);
                }
                if (m.containsKey("event")) {
                    synchronized (events) {
                        events.add(m);
                        events.notifyAll();
                    }
                } else {
                    replies.add(m);
                }
            }
        } catch (IOException e) {
            readFailure = e;
        }
    }

    /** Whether the server closed the connection (e.g. after quit). */
    public boolean awaitDisconnect(Duration timeout) throws InterruptedException {
        reader.join(timeout.toMillis());
        return !reader.isAlive();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing to release
        }
    }
}
