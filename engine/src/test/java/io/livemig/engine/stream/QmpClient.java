package io.livemig.engine.stream;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ExecutorService;

import io.livemig.engine.analyze.Json;

/**
 * A small QMP client for tests: connects to a unix socket (retrying until {@code timeout}), reads the
 * greeting, negotiates capabilities, executes commands (returning "return" or throwing on "error"),
 * collects events. Every read is bounded by a deadline.
 */
public final class QmpClient implements AutoCloseable {
    private final SocketChannel ch;
    private final ExecutorService reader = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "qmp-reader");
        t.setDaemon(true);
        return t;
    });
    private final StringBuilder pending = new StringBuilder();
    private final ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    private final List<Map<String, Object>> events = new ArrayList<>();

    /** QMP reported an error reply. */
    public static final class QmpError extends RuntimeException {
        public final String errorClass;

        QmpError(String cls, String desc) {
            super(cls + ": " + desc);
            this.errorClass = cls;
        }
    }

    private QmpClient(SocketChannel ch) {
        this.ch = ch;
    }

    public static QmpClient connect(Path socket, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (Files.exists(socket)) {
                try {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    ch.connect(UnixDomainSocketAddress.of(socket));
                    QmpClient c = new QmpClient(ch);
                    Map<String, Object> greeting = c.readMessage(timeout);
                    if (!greeting.containsKey("QMP")) throw new IOException("no QMP greeting: " + greeting);
                    c.execute("qmp_capabilities", null, timeout);
                    return c;
                } catch (IOException e) {
                    last = e;
                }
            }
            Thread.sleep(50);
        }
        throw new IOException("QMP socket " + socket + " not ready within " + timeout, last);
    }

    /** Executes {@code command} with JSON {@code argsJson} (or null); returns the "return" value. */
    public Object execute(String command, String argsJson, Duration timeout) throws IOException {
        String msg = "{\"execute\": \"" + command + "\"" + (argsJson == null ? "" : ", \"arguments\": " + argsJson) + "}\n";
        ByteBuffer out = ByteBuffer.wrap(msg.getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) ch.write(out);
        while (true) {
            Map<String, Object> m = readMessage(timeout);
            if (m.containsKey("event")) {
                events.add(m);
                continue;
            }
            if (m.containsKey("error")) {
                @SuppressWarnings("unchecked")
                Map<String, Object> e = (Map<String, Object>) m.get("error");
                throw new QmpError(String.valueOf(e.get("class")), String.valueOf(e.get("desc")));
            }
            if (m.containsKey("return")) return m.get("return");
        }
    }

    public List<Map<String, Object>> events() {
        return events;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> readMessage(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            int nl = pending.indexOf("\n");
            if (nl >= 0) {
                String line = pending.substring(0, nl).trim();
                pending.delete(0, nl + 1);
                if (line.isEmpty()) continue;
                return (Map<String, Object>) Json.parse(line);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) throw new IOException("QMP: no message within " + timeout);
            Future<Integer> f = reader.submit(() -> {
                buf.clear();
                return ch.read(buf);
            });
            int n;
            try {
                n = f.get(left, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                f.cancel(true);
                throw new IOException("QMP: no message within " + timeout);
            } catch (Exception e) {
                throw new IOException("QMP read failed", e);
            }
            if (n < 0) throw new IOException("QMP: connection closed");
            pending.append(new String(buf.array(), 0, n, StandardCharsets.UTF_8));
        }
    }

    @Override
    public void close() throws IOException {
        reader.shutdownNow();
        ch.close();
    }
}
